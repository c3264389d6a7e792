"""``LinearClsHead``: one fully connected layer, ``logits = feats[-1] @ W.T + b``.

``(N, in_channels) -> (N, num_classes)``; its weights are ``head.fc.weight/bias``. The default
init draws ``W ~ N(0, 0.01^2)`` and sets ``b = 0`` (when ``init_weights()`` runs).
"""
from minicls import nn
from minicls.registry import MODELS

from .cls_head import ClsHead

__all__ = ['LinearClsHead']


@MODELS.register_module()
class LinearClsHead(ClsHead):
    """Args: num_classes (int), in_channels (int), and ClsHead's ``loss``, ``topk``,
    ``cal_acc``, ``init_cfg`` (default ``Normal`` std 0.01 on Linear)."""

    def __init__(self, num_classes, in_channels,
                 init_cfg=dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.in_channels = in_channels
        self.num_classes = num_classes
        if self.num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        self.fc = nn.Linear(self.in_channels, self.num_classes)

    def pre_logits(self, feats):
        return feats[-1]

    def forward(self, feats):
        return self.fc(self.pre_logits(feats))
