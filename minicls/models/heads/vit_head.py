"""``VisionTransformerClsHead``: an optional hidden layer with tanh, then a linear layer.

``hidden_dim=None``: ``logits = head(x)``; else ``logits = head(tanh(pre_logits(x)))``, the
"pre-logits" layer of ViT pre-training. Layers live in ``self.layers`` (keys
``head.layers.pre_logits.*``, ``head.layers.head.*``). Init: every Linear zeroed, then
``pre_logits.weight`` redrawn LeCun-style (truncated normal, ``std = sqrt(1 / in_features)``).
"""
import math
from collections import OrderedDict

from minicls import nn
from minicls.cnn import build_activation_layer
from minicls.registry import MODELS

from ..base_module import trunc_normal_init
from .cls_head import ClsHead

__all__ = ['VisionTransformerClsHead']


@MODELS.register_module()
class VisionTransformerClsHead(ClsHead):
    """Args: num_classes, in_channels, hidden_dim (int, optional), act_cfg (default Tanh),
    init_cfg (default Constant 0 on Linear), and ClsHead's arguments."""

    def __init__(self, num_classes, in_channels, hidden_dim=None, act_cfg=dict(type='Tanh'),
                 init_cfg=dict(type='Constant', layer='Linear', val=0), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.hidden_dim = hidden_dim
        self.act_cfg = act_cfg
        if self.num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        self._init_layers()

    def _init_layers(self):
        if self.hidden_dim is None:
            layers = [('head', nn.Linear(self.in_channels, self.num_classes))]
        else:
            layers = [('pre_logits', nn.Linear(self.in_channels, self.hidden_dim)),
                      ('act', build_activation_layer(self.act_cfg)),
                      ('head', nn.Linear(self.hidden_dim, self.num_classes))]
        self.layers = nn.Sequential(OrderedDict(layers))

    def init_weights(self):
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg['type'] == 'Pretrained':
            return  # loaded weights must not be overwritten
        if hasattr(self.layers, 'pre_logits'):  # LeCun normal, as in ClassyVision
            fc = self.layers.pre_logits
            trunc_normal_init(fc, std=math.sqrt(1 / fc.in_features), bias=0)

    def pre_logits(self, feats):
        feat = feats[-1]
        if isinstance(feat, list):  # old ViT output: [patch_token, cls_token]
            feat = feat[-1]
        if self.hidden_dim is None:
            return feat
        return self.layers.act(self.layers.pre_logits(feat))

    def forward(self, feats):
        return self.layers.head(self.pre_logits(feats))
