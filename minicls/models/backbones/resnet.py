"""ResNet (He et al., 2016), with mmpretrain's arguments, attribute names and weight keys.

The network is a stem (a strided 7x7 conv, BN, ReLU and a max-pool: 224 -> 56 pixels) and
four stages ``layer1..layer4``. Each stage is a ``ResLayer``: a Sequential of residual blocks,

    out = relu(F(x) + shortcut(x))

where ``F`` is two 3x3 convs (``BasicBlock``, ResNet-18/34) or 1x1-3x3-1x1 convs that squeeze
the channels by 4 and expand them back (``Bottleneck``, ResNet-50/101/152). The first block of
a stage halves the resolution (stride 2, except stage 1) and changes the channel count, so its
shortcut is a 1x1 conv + BN (``downsample``). Channels: 64, 128, 256, 512 (x4 for Bottleneck).

The attribute names (``conv1``, ``bn1``, ``layer1.0.conv2``, ``layer2.0.downsample.0``...)
are torchvision's and mmpretrain's, so their weight files load by name. The blocks and
``ResLayer`` are in ``resnet_blocks.py`` (importable from here too, as in mmpretrain).
"""
from minicls import nn
from minicls.cnn import ConvModule, build_conv_layer, build_norm_layer
from minicls.registry import MODELS

from ..base_module import BaseModule, constant_init
from .resnet_blocks import BasicBlock, Bottleneck, ResLayer, get_expansion

__all__ = ['BasicBlock', 'Bottleneck', 'ResLayer', 'ResNet', 'ResNetV1c', 'ResNetV1d',
           'get_expansion', 'is_batch_norm']

def is_batch_norm(module):
    """True for BatchNorm1d/2d/... (any class deriving from one named ``_BatchNorm``)."""
    return any(cls.__name__ == '_BatchNorm' for cls in type(module).__mro__)


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet backbone. Returns a tuple of the stage outputs listed in ``out_indices``.

    Args (mmpretrain's names and defaults):
        depth (int): 18, 34, 50, 101 or 152.
        in_channels (int): Input image channels. Default: 3.
        stem_channels (int): Output channels of the stem. Default: 64.
        base_channels (int): Stage i has ``base_channels * 2**i * expansion`` output
            channels. Default: 64.
        expansion (int, optional): Block expansion. Default: None, the block's own.
        num_stages (int): 1 to 4. Default: 4.
        strides (Sequence[int]): Of each stage's first block. Default: (1, 2, 2, 2).
        dilations (Sequence[int]): Of each stage. Default: (1, 1, 1, 1).
        out_indices (Sequence[int]): The stages to return (0-based). Default: (3, ).
        style (str): 'pytorch' (stride on the 3x3 conv) or 'caffe' (on the 1x1).
        deep_stem (bool): Three 3x3 ConvModules (``self.stem``), not the 7x7 conv.
        avg_down (bool): AvgPool + stride-1 1x1 conv in the shortcuts. Default: False.
        frozen_stages (int): -1 none; 0 the stem; k the stem and layer1..layerk
            (``requires_grad=False``, kept in eval mode). Default: -1.
        conv_cfg (dict, optional), norm_cfg (dict): How convs and norms are built.
        norm_eval (bool): Keep every BN in eval mode in training (frozen statistics).
        with_cp (bool): Gradient checkpointing in mmpretrain; accepted and ignored here.
        zero_init_residual (bool): Zero the last norm of each block in ``init_weights()``
            so every block starts as the identity. Default: True.
        init_cfg (dict or list[dict]): Default: Kaiming on convs, 1 on norms.
        drop_path_rate (float): Stochastic depth, rising linearly to this over the blocks.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, in_channels=3, stem_channels=64, base_channels=64,
                 expansion=None, num_stages=4, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
                 out_indices=(3, ), style='pytorch', deep_stem=False, avg_down=False,
                 frozen_stages=-1, conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval=False, with_cp=False, zero_init_residual=True,
                 init_cfg=[dict(type='Kaiming', layer=['Conv2d']),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])],
                 drop_path_rate=0.0):
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for resnet')
        self.depth = depth
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        assert 1 <= num_stages <= 4, f'num_stages must be 1..4, got {num_stages}'
        self.strides = strides
        self.dilations = dilations
        assert len(strides) == len(dilations) == num_stages, \
            'strides and dilations need one entry per stage'
        self.out_indices = out_indices
        assert max(out_indices) < num_stages, \
            f'out_indices {out_indices} must be < num_stages {num_stages}'
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = get_expansion(self.block, expansion)

        self._make_stem_layer(in_channels, stem_channels)

        self.res_layers = []
        _in_channels = stem_channels
        _out_channels = base_channels * self.expansion
        # stochastic depth: rates rising linearly from 0 to drop_path_rate over all blocks
        total = sum(self.stage_blocks)
        dpr = [drop_path_rate * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
        for i, num_blocks in enumerate(self.stage_blocks):
            res_layer = self.make_res_layer(
                block=self.block, num_blocks=num_blocks, in_channels=_in_channels,
                out_channels=_out_channels, expansion=self.expansion, stride=strides[i],
                dilation=dilations[i], style=self.style, avg_down=self.avg_down,
                with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                drop_path_rate=dpr[:num_blocks])
            _in_channels = _out_channels
            _out_channels *= 2
            dpr = dpr[num_blocks:]
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)

        self._freeze_stages()
        self.feat_dim = res_layer[-1].out_channels

    def make_res_layer(self, **kwargs):
        return ResLayer(**kwargs)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels, stem_channels):
        if self.deep_stem:
            self.stem = nn.Sequential(
                ConvModule(in_channels, stem_channels // 2, kernel_size=3, stride=2, padding=1,
                           conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(stem_channels // 2, stem_channels // 2, kernel_size=3, stride=1,
                           padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                           inplace=True),
                ConvModule(stem_channels // 2, stem_channels, kernel_size=3, stride=1,
                           padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                           inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels,
                                          kernel_size=7, stride=2, padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self):
        """Put the stem and layer1..layer{frozen_stages} in eval mode, without gradients."""
        if self.frozen_stages < 0:
            return
        stem = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        stages = stem + [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for m in stages:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def init_weights(self):
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg['type'] == 'Pretrained':
            return  # loaded weights must not be overwritten
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)

    def forward(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        """Switch mode, then re-freeze the frozen stages and, with ``norm_eval``, every BN."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if is_batch_norm(m):
                    m.eval()
        return self


@MODELS.register_module()
class ResNetV1c(ResNet):
    """ResNet with the deep stem (three 3x3 convs) instead of the 7x7 conv.

    Args: ``ResNet``'s, but ``deep_stem`` and ``avg_down``."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet with the deep stem and AvgPool downsampling in the shortcuts.

    Args: ``ResNet``'s, but ``deep_stem`` and ``avg_down``."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=True, **kwargs)

