"""Cross-entropy losses: softmax (class indices), soft (a distribution per sample) and
sigmoid (independent binary decisions per class).

For logits ``x`` (N, C):

- softmax CE, target class ``y``: ``loss_n = -class_weight[y] * log_softmax(x_n)[y]``
- soft CE, target scores ``p`` (N, C): ``loss_n = -sum_c class_weight[c] p_nc log_softmax(x_n)_c``
- sigmoid (BCE), targets ``t`` (N, C) in [0, 1]: element-wise
  ``-class_weight[c] (pos_weight[c] t log s(x) + (1 - t) log(1 - s(x)))``

Then ``weight_reduce_loss``. NB: with ``class_weight`` and mean reduction the loss is divided
by N (or ``avg_factor``), not by the sum of the selected class weights as ``torch``'s own
``cross_entropy(weight=...)`` does.

Explained in tutorials/10_losses.md.
"""
from minicls import nn
from minicls.creation import tensor
from minicls.nn import functional as F
from minicls.nn.functional.loss import check_float_input
from minicls.registry import MODELS

from .utils import weight_reduce_loss

__all__ = ['cross_entropy', 'soft_cross_entropy', 'binary_cross_entropy', 'CrossEntropyLoss']


def cross_entropy(pred, label, weight=None, reduction='mean', avg_factor=None,
                  class_weight=None):
    """Softmax CE with int labels (N,); ``weight`` (N,) weighs samples."""
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction='none')
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


def soft_cross_entropy(pred, label, weight=None, reduction='mean', class_weight=None,
                       avg_factor=None):
    """CE against a target distribution ``label`` (N, C) (one-hot, mixup, label smoothing)."""
    check_float_input(pred, 'soft_cross_entropy')
    loss = -label * F.log_softmax(pred, dim=-1)
    if class_weight is not None:
        loss = loss * class_weight
    loss = loss.sum(dim=-1)
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


def binary_cross_entropy(pred, label, weight=None, reduction='mean', avg_factor=None,
                         class_weight=None, pos_weight=None):
    """Element-wise sigmoid BCE on (N, C); ``weight`` (N,) weighs samples."""
    assert pred.dim() == label.dim(), (
        f'sigmoid cross-entropy needs targets shaped like the scores {tuple(pred.shape)}, got '
        f'{tuple(label.shape)}; give one-hot/multi-label targets (N, C)')
    if class_weight is not None:
        class_weight = class_weight.reshape(1, -1).expand(pred.shape[0], -1)
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), weight=class_weight,
                                              pos_weight=pos_weight, reduction='none')
    if weight is not None:
        assert weight.dim() == 1, f'sample weight must be 1-D (N,), got {tuple(weight.shape)}'
        weight = weight.float()
        if pred.dim() > 1:
            weight = weight.reshape(-1, 1)
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy, with mmpretrain's arguments.

    Args:
        use_sigmoid (bool): sigmoid BCE per class instead of softmax. Default False.
        use_soft (bool): targets are score vectors (N, C) (mixup/cutmix). Default False.
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): the loss is multiplied by it. Default 1.0.
        class_weight (list[float], optional): one weight per class.
        pos_weight (list[float], optional): weight of positives per class (sigmoid only).
    """

    def __init__(self, use_sigmoid=False, use_soft=False, reduction='mean', loss_weight=1.0,
                 class_weight=None, pos_weight=None):
        super().__init__()
        assert not (use_soft and use_sigmoid), \
            'use_sigmoid and use_soft could not be set simultaneously'
        self.use_sigmoid = use_sigmoid
        self.use_soft = use_soft
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.class_weight = class_weight
        self.pos_weight = pos_weight
        if use_sigmoid:
            self.cls_criterion = binary_cross_entropy
        elif use_soft:
            self.cls_criterion = soft_cross_entropy
        else:
            self.cls_criterion = cross_entropy

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None,
                **kwargs):
        assert reduction_override in (None, 'none', 'mean', 'sum'), \
            f'reduction_override must be None, none, mean or sum, got {reduction_override!r}'
        reduction = reduction_override if reduction_override else self.reduction

        def like_scores(values):  # a list of floats -> a tensor on cls_score's device
            return tensor(values, dtype=cls_score.dtype, device=cls_score.device)

        class_weight = None if self.class_weight is None else like_scores(self.class_weight)
        if self.pos_weight is not None and self.use_sigmoid:
            kwargs['pos_weight'] = like_scores(self.pos_weight)
        return self.loss_weight * self.cls_criterion(
            cls_score, label, weight, class_weight=class_weight, reduction=reduction,
            avg_factor=avg_factor, **kwargs)
