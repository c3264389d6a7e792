"""``ClsHead``: the base classification head: features -> scores -> loss or predictions.

``pre_logits(feats)`` picks what the classifier layer sees (the last stage, ``feats[-1]``),
``forward`` adds the classifier layer (none here: subclasses add ``fc``), ``loss`` compares the
scores with the targets and ``predict`` turns them into probabilities and labels.
"""
from minicls import nn
from minicls.evaluation.metrics.single_label import Accuracy
from minicls.registry import MODELS

from ..base_module import BaseModule

__all__ = ['ClsHead']


@MODELS.register_module()
class ClsHead(BaseModule):
    """Args:
        loss (dict | Module): the loss, built from MODELS; stored as ``self.loss_module``.
            Default ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        topk (tuple[int]): the k's of the training accuracy (only with ``cal_acc``).
        cal_acc (bool): also return ``accuracy_top-k`` from ``loss``. Default False.
        init_cfg (dict, optional): weight init.
    """

    def __init__(self, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, ),
                 cal_acc=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not isinstance(loss, nn.Module):
            loss = MODELS.build(loss)
        self.loss_module = loss
        self.cal_acc = cal_acc

    def pre_logits(self, feats):
        """The features the last layer sees: the last stage's output."""
        return feats[-1]

    def forward(self, feats):
        return self.pre_logits(feats)

    def loss(self, feats, targets, **kwargs):
        """``{'loss': loss_module(scores, targets, avg_factor=N)}`` (+ ``accuracy_top-k``).

        ``targets``: class indices (N,) int64, or scores (N, C) (one-hot, mixup, cutmix).
        """
        cls_score = self(feats)
        return self._get_loss(cls_score, targets, **kwargs)

    def _get_loss(self, cls_score, target, **kwargs):
        losses = dict()
        losses['loss'] = self.loss_module(cls_score, target, avg_factor=cls_score.size(0),
                                          **kwargs)
        if self.cal_acc:
            assert target.ndim == 1, 'If you enable batch augmentation like mixup during ' \
                'training, `cal_acc` is pointless.'
            acc = Accuracy.calculate(cls_score, target, topk=self.topk)
            losses.update({f'accuracy_top-{k}': a[0] for k, a in zip(self.topk, acc)})
        return losses

    def predict(self, feats, targets=None):
        """``{'pred_score': softmax(scores) (N, C), 'pred_label': argmax (N,) int64}``."""
        cls_score = self(feats)
        return self._get_predictions(cls_score)

    def _get_predictions(self, cls_score):
        pred_score = cls_score.detach().softmax(dim=1)
        return {'pred_score': pred_score, 'pred_label': pred_score.argmax(dim=1)}
