"""``ResNet_CIFAR``: ResNet for 32x32 images.

The ImageNet stem (7x7 stride-2 conv + max-pool) shrinks 224 pixels to 56; on a 32x32 CIFAR
image it would leave 8x8 maps for the first stage. So the stem here is a 3x3 stride-1 conv and
there is no max-pool: the stages see 32, 16, 8 and 4 pixels. Everything else is ``ResNet``.
"""
from minicls import nn
from minicls.cnn import build_conv_layer, build_norm_layer
from minicls.registry import MODELS

from .resnet import ResNet

__all__ = ['ResNet_CIFAR']


@MODELS.register_module()
class ResNet_CIFAR(ResNet):  # noqa: N801 (mmpretrain's name)
    """ResNet backbone for CIFAR: a 3x3 stride-1 stem and no max-pool.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        deep_stem (bool): Must be False: the deep stem is not supported. Default: False.
        **kwargs: Every other argument of ``ResNet`` (``in_channels``, ``stem_channels``,
            ``base_channels``, ``num_stages``, ``strides``, ``out_indices``...), with its
            default.
    """

    def __init__(self, depth, deep_stem=False, **kwargs):
        super().__init__(depth, deep_stem=deep_stem, **kwargs)
        assert not self.deep_stem, 'ResNet_CIFAR do not support deep_stem'

    def _make_stem_layer(self, in_channels, base_channels):
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, base_channels, kernel_size=3,
                                      stride=1, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, base_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.relu(self.norm1(self.conv1(x)))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
