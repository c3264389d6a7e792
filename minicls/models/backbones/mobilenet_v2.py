"""MobileNetV2 (Sandler et al., 2018), with mmpretrain's arguments, attribute names and keys.

The network is cheap because of two ideas:

* **depthwise separable convs**: a 3x3 conv with ``groups == channels`` filters each channel
  on its own (9 weights per channel), and a 1x1 conv mixes channels. Together they cost a
  fraction of one full 3x3 conv.
* **inverted residuals**: each block widens its input by ``expand_ratio`` (1x1 conv + ReLU6),
  filters it depthwise (3x3 + ReLU6), then projects it back down with a *linear* 1x1 conv
  (no activation: the "linear bottleneck"). The shortcut joins the narrow ends, when the block
  keeps both the stride (1) and the channel count.

Layout: ``conv1`` (3x3 stride 2, 32 channels), seven stages ``layer1..layer7`` of
``InvertedResidual`` blocks, ``conv2`` (1x1 to 1280 channels). ``out_indices`` count these
eight: 0..6 are the stages, 7 is ``conv2``. Every conv is a ``ConvModule`` (conv, ``bn``,
ReLU6), so the keys read ``conv1.conv.weight``, ``layer1.0.conv.0.conv.weight``, ``conv1.bn.*``.
"""
from minicls import nn
from minicls.cnn import ConvModule
from minicls.registry import MODELS

from ..base_module import BaseModule
from .resnet import is_batch_norm

__all__ = ['InvertedResidual', 'MobileNetV2', 'make_divisible']


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``, default
    ``divisor``), going one step up if rounding lost more than ``1 - min_ratio`` of it."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < min_ratio * value else new_value


class InvertedResidual(BaseModule):
    """expand (1x1) -> depthwise (3x3, ``stride``) -> project (1x1, linear), plus the input
    when ``stride == 1`` and ``in_channels == out_channels``.

    The convs are ``self.conv`` (a Sequential): with ``expand_ratio == 1`` the 1x1 expansion
    is left out, so the depthwise conv is ``conv.0`` instead of ``conv.1``.

    Args:
        in_channels (int): channels of the input.
        out_channels (int): channels of the output.
        stride (int): stride of the depthwise 3x3 conv, 1 or 2.
        expand_ratio (int): hidden channels = ``round(in_channels * expand_ratio)``.
        conv_cfg (dict, optional): the conv layers' config. Defaults to None (``Conv2d``).
        norm_cfg (dict): the norm layers' config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): the activation after the first two convs. Defaults to
            ``dict(type='ReLU6')``.
        with_cp (bool): gradient checkpointing in mmpretrain; accepted and ignored here.
        init_cfg (dict, optional): initialisation config. Defaults to None.
    """

    def __init__(self, in_channels, out_channels, stride, expand_ratio, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'), with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, but got {stride}')
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden, 1, act_cfg=act_cfg, **common))
        layers.append(ConvModule(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                                 act_cfg=act_cfg, **common))
        layers.append(ConvModule(hidden, out_channels, 1, act_cfg=None, **common))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_res_connect else out


@MODELS.register_module()
class MobileNetV2(BaseModule):
    """MobileNetV2 backbone. Returns a tuple of the outputs listed in ``out_indices``.

    Args:
        widen_factor (float): multiplies every layer's channels (rounded to multiples of 8);
            the last conv keeps 1280 channels unless ``widen_factor > 1``. Defaults to 1.0.
        out_indices (Sequence[int]): outputs to return, 0..6 for ``layer1..layer7`` and 7 for
            ``conv2``. Defaults to ``(7, )``.
        frozen_stages (int): -1 freezes nothing; k >= 0 freezes ``conv1`` and
            ``layer1..layerk`` (no gradients; the stages also kept in eval mode).
            Defaults to -1.
        conv_cfg (dict, optional): the conv layers' config. Defaults to None (``Conv2d``).
        norm_cfg (dict): the norm layers' config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): the activation. Defaults to ``dict(type='ReLU6')``.
        norm_eval (bool): keep every batch norm in eval mode while training (frozen
            statistics). Defaults to False.
        with_cp (bool): gradient checkpointing in mmpretrain; accepted and ignored here.
        init_cfg (dict | list[dict]): Defaults to Kaiming on convs, 1 on norms.
    """

    # Per stage: expand_ratio, channels, number of blocks, stride of the first block.
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, widen_factor=1., out_indices=(7, ), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6'), norm_eval=False,
                 with_cp=False,
                 init_cfg=[dict(type='Kaiming', layer=['Conv2d']),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]):
        super().__init__(init_cfg)
        for index in out_indices:
            if index not in range(0, 8):
                raise ValueError(f'the items of out_indices must be in range(0, 8), but got '
                                 f'{index}')
        if frozen_stages not in range(-1, 8):
            raise ValueError(f'frozen_stages must be in range(-1, 8), but got {frozen_stages}')
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, self.in_channels, 3, stride=2, padding=1, **common)
        self.layers = []
        for i, (expand_ratio, channels, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channels * widen_factor, 8)
            self.add_module(f'layer{i + 1}', self.make_layer(out_channels, num_blocks, stride,
                                                             expand_ratio))
            self.layers.append(f'layer{i + 1}')
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(self.in_channels, self.out_channel, 1, **common)
        self.layers.append('conv2')

    def make_layer(self, out_channels, num_blocks, stride, expand_ratio):
        """A Sequential of ``num_blocks`` blocks; only the first has ``stride``."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(
                self.in_channels, out_channels, stride if i == 0 else 1, expand_ratio,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self):
        """No gradients for ``conv1`` and ``layer1..layer{frozen_stages}`` (the stages also in
        eval mode; ``conv1``'s batch norm keeps training mode, as mmpretrain)."""
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        """Switch mode, then re-freeze the frozen stages and, with ``norm_eval``, every BN."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if is_batch_norm(m):
                    m.eval()
        return self
