"""The residual blocks of ResNet and ``ResLayer``, one stage of them (see ``resnet.py``).

A block computes ``out = relu(F(x) + shortcut(x))``: ``BasicBlock``'s ``F`` is two 3x3 convs
(ResNet-18/34), ``Bottleneck``'s is 1x1-3x3-1x1 convs that squeeze the channels by
``expansion`` (4) and expand them back (ResNet-50/101/152). The shortcut is the identity, or a
1x1 conv + norm (``downsample``) when the block changes the shape.
"""
from minicls import nn
from minicls.cnn import build_activation_layer, build_conv_layer, build_norm_layer

from ..base_module import BaseModule
from ..utils.drop_path import DropPath

__all__ = ['BasicBlock', 'Bottleneck', 'ResLayer', 'get_expansion']

eps = 1.0e-5


class BasicBlock(BaseModule):
    """Two 3x3 convs: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)``.

    Args:
        in_channels (int): Input channels of the block.
        out_channels (int): Output channels of the block.
        expansion (int): ``out_channels / mid_channels`` (mid: conv1's output); must be 1.
        stride (int): Stride of conv1 (2 halves the resolution). Default: 1.
        dilation (int): Dilation (and padding) of conv1. Default: 1.
        downsample (Module, optional): The shortcut when the shape changes (a 1x1 conv + norm,
            built by ``ResLayer``). Default: None, the identity.
        style (str): 'pytorch' or 'caffe': where a Bottleneck puts its stride; no effect here.
        with_cp (bool): Gradient checkpointing in mmpretrain; accepted and ignored here.
        conv_cfg (dict, optional): Config of the convs. Default: None, ``nn.Conv2d``.
        norm_cfg (dict): Config of the norms. Default: ``dict(type='BN')``.
        drop_path_rate (float): Stochastic depth: the chance of dropping the residual branch
            of a sample in training. Default: 0.
        act_cfg (dict): Config of the activation. Default: ``dict(type='ReLU', inplace=True)``.
        init_cfg (dict or list[dict], optional): Initialization config. Default: None.
    """

    def __init__(self, in_channels, out_channels, expansion=1, stride=1, dilation=1,
                 downsample=None, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), drop_path_rate=0.0,
                 act_cfg=dict(type='ReLU', inplace=True), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        assert self.expansion == 1, f'BasicBlock needs expansion 1, got {expansion}'
        assert out_channels % expansion == 0
        self.mid_channels = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, out_channels, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 3,
                                      stride=stride, padding=dilation, dilation=dilation,
                                      bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = build_activation_layer(act_cfg)
        self.downsample = downsample
        self.drop_path = DropPath(drop_prob=drop_path_rate) if drop_path_rate > eps \
            else nn.Identity()

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def forward(self, x):
        identity = x
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.drop_path(out) + identity
        return self.relu(out)


class Bottleneck(BaseModule):
    """1x1 (in -> mid), 3x3 (mid -> mid), 1x1 (mid -> out) convs, ``mid = out // expansion``.

    Args:
        in_channels (int): Input channels of the block.
        out_channels (int): Output channels of the block.
        expansion (int): The channel squeeze of the 1x1 convs, ``out / mid``. Default: 4.
        stride (int): Stride of the block (2 halves the resolution). Default: 1.
        dilation (int): Dilation (and padding) of the 3x3 conv. Default: 1.
        downsample (Module, optional): The shortcut when the shape changes (a 1x1 conv + norm,
            built by ``ResLayer``). Default: None, the identity.
        style (str): 'pytorch' puts the stride on the 3x3 conv (torchvision, "ResNet v1.5");
            'caffe' on the first 1x1 conv (the original paper). Default: 'pytorch'.
        with_cp (bool): Gradient checkpointing in mmpretrain; accepted and ignored here.
        conv_cfg (dict, optional): Config of the convs. Default: None, ``nn.Conv2d``.
        norm_cfg (dict): Config of the norms. Default: ``dict(type='BN')``.
        act_cfg (dict): Config of the activation. Default: ``dict(type='ReLU', inplace=True)``.
        drop_path_rate (float): Stochastic depth: the chance of dropping the residual branch
            of a sample in training. Default: 0.
        init_cfg (dict or list[dict], optional): Initialization config. Default: None.
    """

    def __init__(self, in_channels, out_channels, expansion=4, stride=1, dilation=1,
                 downsample=None, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU', inplace=True),
                 drop_path_rate=0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        assert style in ('pytorch', 'caffe'), f"style must be 'pytorch' or 'caffe', got {style!r}"
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        assert out_channels % expansion == 0
        self.mid_channels = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, self.mid_channels, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 1,
                                      stride=self.conv1_stride, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, self.mid_channels, 3,
                                      stride=self.conv2_stride, padding=dilation,
                                      dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = build_activation_layer(act_cfg)
        self.downsample = downsample
        self.drop_path = DropPath(drop_prob=drop_path_rate) if drop_path_rate > eps \
            else nn.Identity()

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    @property
    def norm3(self):
        return getattr(self, self.norm3_name)

    def forward(self, x):
        identity = x
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.drop_path(out) + identity
        return self.relu(out)


def get_expansion(block, expansion=None):
    """``expansion`` if given, else the block's own (BasicBlock 1, Bottleneck 4)."""
    if isinstance(expansion, int):
        assert expansion > 0
        return expansion
    if expansion is not None:
        raise TypeError(f'expansion must be an integer or None, got {expansion!r}')
    if hasattr(block, 'expansion'):
        return block.expansion
    if issubclass(block, BasicBlock):
        return 1
    if issubclass(block, Bottleneck):
        return 4
    raise TypeError(f'expansion is not specified for {block.__name__}')


class ResLayer(nn.Sequential):
    """One stage: ``num_blocks`` blocks (children ``'0'``, ``'1'``...).

    The first block gets ``stride`` and, when the shape changes, a ``downsample`` shortcut:
    1x1 conv (stride) + norm, or with ``avg_down`` an AvgPool (stride) + stride-1 1x1 conv +
    norm.

    Args:
        block (type): ``BasicBlock`` or ``Bottleneck``.
        num_blocks (int): Number of blocks.
        in_channels (int), out_channels (int): Of the stage (every block outputs out_channels).
        expansion (int, optional): Default: None, the block's own (``get_expansion``).
        stride (int): Stride of the first block. Default: 1.
        avg_down (bool): AvgPool + stride-1 1x1 conv in the shortcut. Default: False.
        conv_cfg (dict, optional), norm_cfg (dict): As in ``BasicBlock``.
        drop_path_rate (float or list[float]): One rate for all blocks, or one per block.
        **kwargs: Passed to every block (``dilation``, ``style``, ``with_cp``...).
    """

    def __init__(self, block, num_blocks, in_channels, out_channels, expansion=None, stride=1,
                 avg_down=False, conv_cfg=None, norm_cfg=dict(type='BN'), drop_path_rate=0.0,
                 **kwargs):
        self.block = block
        self.expansion = get_expansion(block, expansion)
        if isinstance(drop_path_rate, float):
            drop_path_rate = [drop_path_rate] * num_blocks
        assert len(drop_path_rate) == num_blocks, \
            'Please check the length of drop_path_rate'

        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                downsample.append(nn.AvgPool2d(kernel_size=stride, stride=stride,
                                               ceil_mode=True, count_include_pad=False))
            downsample.extend([
                build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1,
                                 stride=conv_stride, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1]])
            downsample = nn.Sequential(*downsample)

        layers = [block(in_channels=in_channels, out_channels=out_channels,
                        expansion=self.expansion, stride=stride, downsample=downsample,
                        conv_cfg=conv_cfg, norm_cfg=norm_cfg, drop_path_rate=drop_path_rate[0],
                        **kwargs)]
        for i in range(1, num_blocks):
            layers.append(block(in_channels=out_channels, out_channels=out_channels,
                                expansion=self.expansion, stride=1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, drop_path_rate=drop_path_rate[i], **kwargs))
        super().__init__(*layers)
