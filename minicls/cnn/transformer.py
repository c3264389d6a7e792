"""mmcv's transformer bricks (``mmcv.cnn.bricks.transformer``): ``PatchEmbed`` and ``FFN``.

``PatchEmbed`` cuts an image into non-overlapping ``p x p`` patches and maps each to one
vector: that is exactly a conv with ``kernel_size = stride = p`` (key ``projection``), whose
``(B, C, H/p, W/p)`` output is flattened to a sequence of ``H/p * W/p`` tokens ``(B, N, C)``.

``FFN`` is the transformer's per-token MLP, ``Linear -> act -> Dropout -> Linear -> Dropout``
(keys ``layers.0.0`` and ``layers.1``), added to its input (the residual connection).
"""
import math

from .. import creation
from ..nn import functional as F
from ..nn.modules.container import Sequential
from ..nn.modules.dropout import Dropout
from ..nn.modules.linear import Identity, Linear
from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from ..registry import MODELS
from .bricks import build_activation_layer, build_conv_layer, build_norm_layer

__all__ = ['AdaptivePadding', 'PatchEmbed', 'FFN', 'LayerScale', 'build_dropout']


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def build_dropout(cfg):
    """A dropout layer from a config, e.g. ``dict(type='DropPath', drop_prob=0.1)``."""
    return MODELS.build(cfg)


class AdaptivePadding(Module):
    """Pad the bottom/right (``'corner'``) or both sides (``'same'``) with zeros so that the
    patches cover the whole image: an image of 30 pixels with patches of 4 gets 2 more.

    Args:
        kernel_size (int | tuple): the patch size. Defaults to 1.
        stride (int | tuple): the patch stride. Defaults to 1.
        dilation (int | tuple): the patch dilation. Defaults to 1.
        padding (str): ``'corner'`` or ``'same'``. Defaults to ``'corner'``.
    """

    def __init__(self, kernel_size=1, stride=1, dilation=1, padding='corner'):
        super().__init__()
        if padding not in ('same', 'corner'):
            raise ValueError(f"padding must be 'same' or 'corner', got {padding!r}")
        self.padding = padding
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.dilation = _pair(dilation)

    def get_pad_shape(self, input_shape):
        """``(pad_h, pad_w)``: what the height and width need to fit whole patches."""
        pads = []
        for size, k, s, d in zip(input_shape, self.kernel_size, self.stride, self.dilation):
            pads.append(max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0))
        return tuple(pads)

    def forward(self, x):
        pad_h, pad_w = self.get_pad_shape(x.shape[-2:])
        if pad_h == 0 and pad_w == 0:
            return x
        if self.padding == 'corner':
            return F.pad(x, [0, pad_w, 0, pad_h])
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


@MODELS.register_module()
class PatchEmbed(Module):
    """Image ``(B, C, H, W)`` -> tokens ``(B, N, embed_dims)`` and the grid ``(H', W')``.

    Args:
        in_channels (int): image channels. Defaults to 3.
        embed_dims (int): the token size. Defaults to 768.
        conv_type (str): the conv layer type. Defaults to ``'Conv2d'``.
        kernel_size (int | tuple): the patch size. Defaults to 16.
        stride (int | tuple, optional): the patch stride; None means ``kernel_size``.
            Defaults to 16.
        padding (int | tuple | str): ``'corner'`` or ``'same'`` pads the image to whole
            patches (see ``AdaptivePadding``); a number pads the conv. Defaults to
            ``'corner'``.
        dilation (int | tuple): the conv's dilation. Defaults to 1.
        bias (bool): whether the projection has a bias. Defaults to True.
        norm_cfg (dict, optional): a norm layer applied to the tokens (key ``norm``).
            Defaults to None.
        input_size (int | tuple, optional): the usual image size; sets ``init_input_size``
            and ``init_out_size`` (the token grid). Defaults to None.
        init_cfg (dict, optional): accepted for mmcv compatibility. Defaults to None.
    """

    def __init__(self, in_channels=3, embed_dims=768, conv_type='Conv2d', kernel_size=16,
                 stride=16, padding='corner', dilation=1, bias=True, norm_cfg=None,
                 input_size=None, init_cfg=None):
        super().__init__()
        self.embed_dims = embed_dims
        self.init_cfg = init_cfg
        stride = kernel_size if stride is None else stride
        kernel_size, stride, dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            self.adaptive_padding = AdaptivePadding(kernel_size, stride, dilation, padding)
            padding = 0
        else:
            self.adaptive_padding = None
        padding = _pair(padding)
        self.projection = build_conv_layer(dict(type=conv_type), in_channels, embed_dims,
                                           kernel_size=kernel_size, stride=stride,
                                           padding=padding, dilation=dilation, bias=bias)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None
        if input_size is None:
            self.init_input_size = self.init_out_size = None
            return
        input_size = _pair(input_size)
        if self.adaptive_padding is not None:
            pad_h, pad_w = self.adaptive_padding.get_pad_shape(input_size)
            input_size = (input_size[0] + pad_h, input_size[1] + pad_w)
        self.init_input_size = input_size
        self.init_out_size = tuple(
            (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, p, d, k, s in zip(input_size, padding, dilation, kernel_size, stride))

    def forward(self, x):
        """Returns ``(tokens (B, H'*W', embed_dims), (H', W'))``."""
        if self.adaptive_padding is not None:
            x = self.adaptive_padding(x)
        x = self.projection(x)
        out_size = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x, out_size


class LayerScale(Module):
    """Multiply each channel by a learned factor (parameter ``gamma``), started at ``scale``.

    Args:
        dim (int): the number of channels.
        inplace (bool): accepted and ignored (minicls always returns a new tensor).
        data_format (str): ``'channels_last'`` (B, N, C) or ``'channels_first'`` (B, C, H, W).
        scale (float): the initial factor. Defaults to 1e-5.
    """

    def __init__(self, dim, inplace=False, data_format='channels_last', scale=1e-5):
        super().__init__()
        if data_format not in ('channels_last', 'channels_first'):
            raise ValueError("data_format must be 'channels_last' or 'channels_first', got "
                             f'{data_format!r}')
        self.inplace, self.data_format = inplace, data_format
        self.gamma = Parameter(creation.ones(dim) * scale)

    def forward(self, x):
        if self.data_format == 'channels_first':
            return x * self.gamma.reshape(-1, 1, 1)
        return x * self.gamma


@MODELS.register_module()
class FFN(Module):
    """``out = identity + dropout_layer(layers(x))``, the transformer's feed-forward block.

    Args:
        embed_dims (int): the token size (input and output). Defaults to 256.
        feedforward_channels (int): the hidden size. Defaults to 1024.
        num_fcs (int): the number of linear layers, at least 2. Defaults to 2.
        act_cfg (dict): the activation after each hidden layer. Defaults to
            ``dict(type='ReLU', inplace=True)``.
        ffn_drop (float): dropout after each linear layer. Defaults to 0.
        dropout_layer (dict, optional): applied to the branch before the sum, e.g.
            ``dict(type='DropPath', drop_prob=0.1)``. Defaults to None (identity).
        add_identity (bool): add the residual (``identity``, or the input). Defaults to True.
        init_cfg (dict, optional): accepted for mmcv compatibility. Defaults to None.
        layer_scale_init_value (float): > 0 adds a ``LayerScale`` (key ``gamma2``).
            Defaults to 0.
    """

    def __init__(self, embed_dims=256, feedforward_channels=1024, num_fcs=2,
                 act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0., dropout_layer=None,
                 add_identity=True, init_cfg=None, layer_scale_init_value=0.):
        super().__init__()
        if num_fcs < 2:
            raise ValueError(f'num_fcs should be no less than 2, got {num_fcs}')
        self.embed_dims, self.feedforward_channels = embed_dims, feedforward_channels
        self.num_fcs = num_fcs
        self.init_cfg = init_cfg
        layers, in_channels = [], embed_dims
        for _ in range(num_fcs - 1):
            layers.append(Sequential(Linear(in_channels, feedforward_channels),
                                     build_activation_layer(act_cfg), Dropout(ffn_drop)))
            in_channels = feedforward_channels
        layers.append(Linear(feedforward_channels, embed_dims))
        layers.append(Dropout(ffn_drop))
        self.layers = Sequential(*layers)
        self.dropout_layer = build_dropout(dropout_layer) if dropout_layer else Identity()
        self.add_identity = add_identity
        self.gamma2 = LayerScale(embed_dims, scale=layer_scale_init_value) \
            if layer_scale_init_value > 0 else Identity()

    def forward(self, x, identity=None):
        out = self.gamma2(self.layers(x))
        if not self.add_identity:
            return self.dropout_layer(out)
        return (x if identity is None else identity) + self.dropout_layer(out)
