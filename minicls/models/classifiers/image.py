"""``ImageClassifier``: data preprocessor + backbone + neck + head, as in mmpretrain.

    batch --data_preprocessor--> inputs (N, C, H, W), targets
    inputs --backbone--> tuple of feature maps --neck--> tuple of (N, C') --head--> logits

``forward(inputs, targets=None, mode)``:

- ``'tensor'``: the raw logits (N, num_classes), no softmax;
- ``'loss'``: ``head.loss`` -> ``{'loss': Tensor, ...}``;
- ``'predict'``: ``head.predict`` -> ``{'pred_score': softmax (N, C), 'pred_label': (N,)}``.

A training step is ``loss = model(**model.data_preprocessor(batch, True), mode='loss')['loss']``.
"""
import copy

from minicls import nn
from minicls.registry import MODELS

from ..base_module import BaseModule
from ..losses.utils import parse_losses
from ..utils.data_preprocessor import ClsDataPreprocessor

__all__ = ['ImageClassifier']


@MODELS.register_module()
class ImageClassifier(BaseModule):
    """Args:
        backbone (dict | Module), neck (dict | Module, optional), head (dict | Module, optional).
        pretrained (str, optional): a weights file; same as ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)``.
        train_cfg (dict, optional): ``dict(augments=...)`` batch augments for training.
        data_preprocessor (dict | Module, optional): default ``ClsDataPreprocessor``.
        init_cfg (dict, optional): weight init.
    """

    def __init__(self, backbone, neck=None, head=None, pretrained=None, train_cfg=None,
                 data_preprocessor=None, init_cfg=None):
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)

        data_preprocessor = copy.deepcopy(data_preprocessor) or {}
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
            data_preprocessor.setdefault('batch_augments', train_cfg)
            data_preprocessor = MODELS.build(data_preprocessor)
        elif not isinstance(data_preprocessor, nn.Module):
            raise TypeError('data_preprocessor should be a `dict` or `nn.Module` instance, but '
                            f'got {type(data_preprocessor)}')
        self.data_preprocessor = data_preprocessor

        if not isinstance(backbone, nn.Module):
            backbone = MODELS.build(backbone)
        if neck is not None and not isinstance(neck, nn.Module):
            neck = MODELS.build(neck)
        if head is not None and not isinstance(head, nn.Module):
            head = MODELS.build(head)
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        if head is not None:
            self.head = head

    @property
    def with_neck(self):
        return getattr(self, 'neck', None) is not None

    @property
    def with_head(self):
        return getattr(self, 'head', None) is not None

    def to(self, *args, **kwargs):
        """Move the model; the data preprocessors learn the new device too (as mmengine)."""
        for m in self.modules():
            if isinstance(m, ClsDataPreprocessor) and m is not self:
                m.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def extract_feat(self, inputs, stage='neck'):
        """Features after the ``'backbone'``, the ``'neck'`` (default) or the head's
        ``'pre_logits'``. Backbone and neck outputs are tuples (one entry per stage)."""
        assert stage in ('backbone', 'neck', 'pre_logits'), \
            f'Invalid output stage "{stage}", please choose from "backbone", "neck" and ' \
            '"pre_logits"'
        x = self.backbone(inputs)
        if stage == 'backbone':
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        assert self.with_head and hasattr(self.head, 'pre_logits'), \
            "No head or the head doesn't implement `pre_logits` method."
        return self.head.pre_logits(x)

    def extract_feats(self, multi_inputs, **kwargs):
        """``[extract_feat(inputs, **kwargs) for inputs in multi_inputs]``: the features of
        each batch in a list or tuple of batches (test-time augmentation uses it)."""
        assert isinstance(multi_inputs, (list, tuple)), \
            '`extract_feats` is used for a sequence of inputs tensor. If you want to extract ' \
            'on single inputs tensor, use `extract_feat`.'
        return [self.extract_feat(inputs, **kwargs) for inputs in multi_inputs]

    def forward(self, inputs, targets=None, mode='tensor'):
        if mode == 'tensor':
            feats = self.extract_feat(inputs)
            return self.head(feats) if self.with_head else feats
        if mode == 'loss':
            return self.loss(inputs, targets)
        if mode == 'predict':
            return self.predict(inputs, targets)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs, targets):
        """``{'loss': ...}`` for int labels (N,) or score targets (N, C)."""
        if targets is None:
            raise ValueError("mode='loss' needs targets: call model(**data_preprocessor(batch, "
                             "True), mode='loss') with a batch that has 'gt_label'")
        return self.head.loss(self.extract_feat(inputs), targets)

    def predict(self, inputs, targets=None):
        """``{'pred_score': (N, C) softmax, 'pred_label': (N,) int64}``."""
        return self.head.predict(self.extract_feat(inputs))

    parse_losses = staticmethod(parse_losses)  # as mmengine's BaseModel; the Runner uses it
