"""mmcv-style layer builders (``mmcv.cnn.bricks``): a conv / norm / activation layer from a config.

mmpretrain's backbones never write ``nn.BatchNorm2d(64)``; they write
``build_norm_layer(norm_cfg, 64)`` so that one config key (``norm_cfg=dict(type='GN',
num_groups=32)``) swaps the norm layer of a whole network. The builders look the ``type`` up in
the ``MODELS`` registry, where this file registers the layer types under mmcv's names
(``'BN'``, ``'GN'``, ``'Conv'``...) and every layer class under its own name.

``ConvModule`` bundles conv -> norm -> activation, as mmcv's does.
"""
import inspect
import warnings

from ..nn import init
from ..nn.modules.activation import (GELU, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, ReLU,
                                    ReLU6, Sigmoid, SiLU, Softmax, Tanh)
from ..nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
from ..nn.modules.container import ModuleDict, ModuleList, Sequential
from ..nn.modules.conv import Conv2d
from ..nn.modules.dropout import Dropout
from ..nn.modules.flatten import Flatten
from ..nn.modules.linear import Identity, Linear
from ..nn.modules.module import Module
from ..nn.modules.normalization import GroupNorm, LayerNorm
from ..nn.modules.sync_batchnorm import SyncBatchNorm
from ..nn.modules.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d,
                                 AvgPool2d, MaxPool2d)
from ..registry import MODELS

# Every layer under its own class name (MODELS.build(dict(type='Linear', ...))).
# The loss layers are left out on purpose: mmpretrain's own ``CrossEntropyLoss`` (in
# minicls.models.losses) takes that name in MODELS.
for _cls in (Conv2d, Linear, Identity, BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, ReLU,
             Tanh, Sigmoid, GELU, Softmax, LogSoftmax, Dropout, MaxPool2d, AvgPool2d,
             AdaptiveAvgPool1d, AdaptiveAvgPool2d, Flatten, Sequential, ModuleList, ModuleDict,
             AdaptiveAvgPool3d, SiLU, ReLU6, LeakyReLU, Hardsigmoid, Hardswish, SyncBatchNorm):
    MODELS.register_module(module=_cls)

# mmcv's short names.
CONV_TYPES = ('Conv2d', 'Conv')
NORM_TYPES = ('BN', 'BN1d', 'BN2d', 'SyncBN', 'GN', 'LN')
ACTIVATION_TYPES = ('ReLU', 'Tanh', 'Sigmoid', 'GELU', 'SiLU', 'ReLU6', 'LeakyReLU', 'Hardswish',
                    'Hardsigmoid', 'HSwish')
MODELS.register_module('Conv', module=Conv2d)
MODELS.register_module('BN', module=BatchNorm2d)
MODELS.register_module('BN1d', module=BatchNorm1d)
MODELS.register_module('BN2d', module=BatchNorm2d)
MODELS.register_module('SyncBN', module=SyncBatchNorm)  # statistics over all ranks
MODELS.register_module('GN', module=GroupNorm)
MODELS.register_module('LN', module=LayerNorm)
MODELS.register_module('HSwish', module=Hardswish)   # mmcv's name for nn.Hardswish


def _split_cfg(cfg, what):
    """Check ``cfg`` and return ``(type, other keys)`` without changing ``cfg``."""
    if not isinstance(cfg, dict):
        raise TypeError(f'{what} cfg must be a dict, but got {type(cfg).__name__}')
    if 'type' not in cfg:
        raise KeyError(f'the {what} cfg dict must contain the key "type", but got {cfg}')
    args = dict(cfg)
    return args.pop('type'), args


def _lookup(layer_type, known, what):
    """The class for ``layer_type`` (a registered name or a class)."""
    if inspect.isclass(layer_type):
        return layer_type
    layer_cls = MODELS.get(layer_type)
    if layer_cls is None:
        raise KeyError(f'Cannot find {layer_type!r} in the model registry ({what} layer). '
                       f'Known {what} types: {", ".join(known)}.')
    return layer_cls


def build_conv_layer(cfg, *args, **kwargs):
    """``build_conv_layer(dict(type='Conv2d'), 3, 64, 3, padding=1)`` -> ``Conv2d(...)``.

    ``cfg=None`` means ``dict(type='Conv2d')``. The layer is built as
    ``cls(*args, **kwargs, **other cfg keys)``.
    """
    layer_type, cfg_args = _split_cfg(dict(type='Conv2d') if cfg is None else cfg, 'conv')
    return _lookup(layer_type, CONV_TYPES, 'conv')(*args, **kwargs, **cfg_args)


def infer_abbr(class_type):
    """The short name mmcv gives a norm class: its ``_abbr_`` if it has one, else 'bn' for
    batch norms, 'gn', 'ln', 'in' by class or by name, else 'norm_layer'."""
    if not inspect.isclass(class_type):
        raise TypeError(f'class_type must be a type, but got {type(class_type).__name__}')
    if hasattr(class_type, '_abbr_'):
        return class_type._abbr_
    if issubclass(class_type, _BatchNorm):
        return 'bn'
    if issubclass(class_type, GroupNorm):
        return 'gn'
    if issubclass(class_type, LayerNorm):
        return 'ln'
    name = class_type.__name__.lower()
    for word, abbr in (('batch', 'bn'), ('group', 'gn'), ('layer', 'ln'), ('instance', 'in')):
        if word in name:
            return abbr
    return 'norm_layer'


def build_norm_layer(cfg, num_features, postfix=''):
    """``build_norm_layer(dict(type='BN'), 64, postfix=1)`` -> ``('bn1', BatchNorm2d(64))``.

    ``requires_grad`` (default True) in cfg is applied to the layer's parameters (False
    freezes them); ``eps`` defaults to 1e-5; ``'GN'`` needs ``num_groups`` and gets
    ``num_channels=num_features``.
    """
    layer_type, args = _split_cfg(cfg, 'norm')
    norm_cls = _lookup(layer_type, NORM_TYPES, 'norm')
    if not isinstance(postfix, (int, str)):
        raise TypeError(f'postfix must be an int or a str, got {type(postfix).__name__}')
    name = infer_abbr(norm_cls) + str(postfix)
    requires_grad = args.pop('requires_grad', True)
    args.setdefault('eps', 1e-5)
    if issubclass(norm_cls, GroupNorm):
        if 'num_groups' not in args:
            raise KeyError(f"GroupNorm needs 'num_groups' in its cfg, e.g. "
                           f"dict(type='GN', num_groups=32); got {cfg}")
        layer = norm_cls(num_channels=num_features, **args)
    else:
        layer = norm_cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return name, layer


def build_activation_layer(cfg):
    """``build_activation_layer(dict(type='ReLU', inplace=True))`` -> ``ReLU(inplace=True)``."""
    layer_type, args = _split_cfg(cfg, 'activation')
    return _lookup(layer_type, ACTIVATION_TYPES, 'activation')(**args)


class ConvModule(Module):
    """conv -> norm -> activation in one module (the order can be changed with ``order``).

    Children: ``conv``, the norm layer under its built name (``bn`` for BN, ``gn``...), and
    ``activate``; so the state_dict keys are ``conv.weight``, ``bn.weight``, ... as in mmcv.
    ``bias='auto'`` gives the conv a bias only when there is no norm layer after it.
    Init (mmcv's): conv weight Kaiming normal (fan_out, relu), conv bias 0; norm weight 1, bias 0.

    Args:
        in_channels (int): channels of the input.
        out_channels (int): channels the conv produces.
        kernel_size (int | tuple[int, int]): size of the conv kernel.
        stride (int | tuple[int, int]): stride of the conv. Defaults to 1.
        padding (int | tuple[int, int] | str): zero padding of the conv ('same' and 'valid'
            as ``nn.Conv2d``). Defaults to 0.
        dilation (int | tuple[int, int]): spacing of the kernel taps. Defaults to 1.
        groups (int): blocked connections from input to output channels. Defaults to 1.
        bias (bool | str): whether the conv has a bias; ``'auto'`` gives it one only when no
            norm layer follows. Defaults to ``'auto'``.
        conv_cfg (dict, optional): the conv layer's config (``build_conv_layer``); None is a
            plain ``Conv2d``. Defaults to None.
        norm_cfg (dict, optional): the norm layer's config (``build_norm_layer``), e.g.
            ``dict(type='BN')``; None for no norm layer. Defaults to None.
        act_cfg (dict, optional): the activation's config (``build_activation_layer``); None
            for no activation. Defaults to ``dict(type='ReLU')``.
        inplace (bool): passed to activations that take ``inplace``. Defaults to True.
        order (tuple[str]): the order of 'conv', 'norm' and 'act'. Defaults to
            ``('conv', 'norm', 'act')``.
    """
    _abbr_ = 'conv_block'

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias='auto', conv_cfg=None, norm_cfg=None,
                 act_cfg=dict(type='ReLU'), inplace=True, order=('conv', 'norm', 'act')):
        super().__init__()
        if conv_cfg is not None and not isinstance(conv_cfg, dict):
            raise TypeError('conv_cfg must be None or a dict')
        order = tuple(order)
        if len(order) != 3 or set(order) != {'conv', 'norm', 'act'}:
            raise ValueError(f"order must be a permutation of ('conv', 'norm', 'act'), got "
                             f'{order}')
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.inplace = inplace
        self.order = order
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == 'auto':
            bias = not self.with_norm
        self.with_bias = bias

        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups, bias=bias)
        # The conv's settings, at the top level for convenience (as mmcv).
        for attr in ('in_channels', 'out_channels', 'kernel_size', 'stride', 'padding',
                     'dilation', 'groups'):
            setattr(self, attr, getattr(self.conv, attr))

        if self.with_norm:
            # A norm before the conv normalises the conv's input channels.
            norm_channels = out_channels if order.index('norm') > order.index('conv') \
                else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
            if bias and isinstance(norm, _BatchNorm):
                warnings.warn('Unnecessary conv bias before batch norm')
        else:
            self.norm_name = None

        if self.with_activation:
            act_cfg_ = dict(act_cfg)
            if act_cfg_['type'] not in ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU'):
                act_cfg_.setdefault('inplace', inplace)
            self.activate = build_activation_layer(act_cfg_)
        self.init_weights()

    @property
    def norm(self):
        """The norm layer (whatever its name), or None."""
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self):
        if self.with_activation and self.act_cfg['type'] == 'LeakyReLU':
            nonlinearity, a = 'leaky_relu', self.act_cfg.get('negative_slope', 0.01)
        else:
            nonlinearity, a = 'relu', 0
        init.kaiming_normal_(self.conv.weight, a=a, mode='fan_out', nonlinearity=nonlinearity)
        if self.conv.bias is not None:
            init.zeros_(self.conv.bias)
        if self.with_norm and getattr(self.norm, 'weight', None) is not None:
            init.ones_(self.norm.weight)
            init.zeros_(self.norm.bias)

    def forward(self, x, activate=True, norm=True):
        for layer in self.order:
            if layer == 'conv':
                x = self.conv(x)
            elif layer == 'norm' and norm and self.with_norm:
                x = self.norm(x)
            elif layer == 'act' and activate and self.with_activation:
                x = self.activate(x)
        return x


MODELS.register_module(module=ConvModule)
