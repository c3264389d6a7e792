"""mmpretrain's ``MultiheadAttention`` (self-attention of a ViT; keys ``qkv``, ``proj``).

Every token asks a question (query ``q``), advertises what it holds (key ``k``) and offers
content (value ``v``); each token's output is the average of all values weighted by
``softmax(q . k / sqrt(head_dims))``. ``num_heads`` heads do this side by side on slices of
``head_dims = embed_dims // num_heads`` channels; ``proj`` mixes the heads' outputs.

One ``qkv`` Linear makes q, k and v at once: its output ``(B, N, 3 * embed_dims)`` is viewed
as ``(B, N, 3, heads, head_dims)`` and permuted to ``(3, B, heads, N, head_dims)``.
"""
import warnings

import minicls
from minicls import nn
from minicls.nn import functional as F
from minicls.registry import MODELS

__all__ = ['MultiheadAttention', 'LayerScale']


class LayerScale(nn.Module):
    """Multiply each channel by a learned factor (parameter ``weight``), started at
    ``layer_scale_init_value`` (mmpretrain's; mmcv's twin calls it ``gamma``).

    Args:
        dim (int): the number of channels.
        layer_scale_init_value (float): the initial factor. Defaults to 1e-5.
        inplace (bool): accepted and ignored.
        data_format (str): ``'channels_last'`` or ``'channels_first'``.
    """

    def __init__(self, dim, layer_scale_init_value=1e-5, inplace=False,
                 data_format='channels_last'):
        super().__init__()
        if data_format not in ('channels_last', 'channels_first'):
            raise ValueError("data_format must be 'channels_last' or 'channels_first', got "
                             f'{data_format!r}')
        self.inplace, self.data_format = inplace, data_format
        self.weight = nn.Parameter(minicls.ones(dim) * layer_scale_init_value)

    def forward(self, x):
        if self.data_format == 'channels_first':
            return x * self.weight.reshape(-1, 1, 1)
        return x * self.weight


def _build_dropout(cfg):
    """mmcv's dropout configs: ``'Dropout'`` takes ``drop_prob`` (torch's ``p``)."""
    cfg = dict(cfg)
    if cfg.get('type') == 'Dropout':
        return nn.Dropout(cfg.get('drop_prob', 0.5))
    return MODELS.build(cfg)


class MultiheadAttention(nn.Module):
    """Multi-head self-attention: ``x (B, N, input_dims) -> (B, N, embed_dims)``.

    Args:
        embed_dims (int): the size of q, k, v and the output.
        num_heads (int): the number of heads; must divide ``embed_dims``.
        input_dims (int, optional): the input size. Defaults to ``embed_dims``.
        attn_drop (float): dropout on the attention weights. Defaults to 0.
        proj_drop (float): dropout after ``proj``. Defaults to 0.
        dropout_layer (dict): applied last, e.g. ``dict(type='DropPath', drop_prob=0.1)``.
            Defaults to ``dict(type='Dropout', drop_prob=0.)``.
        qkv_bias (bool): bias in ``qkv``. Defaults to True.
        qk_scale (float, optional): the logit scale. Defaults to ``head_dims ** -0.5``.
        proj_bias (bool): bias in ``proj``. Defaults to True.
        v_shortcut (bool): add the values to the output (one head only). Defaults to False.
        use_layer_scale (bool): deprecated; use ``layer_scale_init_value``.
        layer_scale_init_value (float): > 0 adds a ``LayerScale`` (key ``gamma1``).
            Defaults to 0.
        init_cfg (dict, optional): accepted for mmpretrain compatibility.
    """

    def __init__(self, embed_dims, num_heads, input_dims=None, attn_drop=0., proj_drop=0.,
                 dropout_layer=dict(type='Dropout', drop_prob=0.), qkv_bias=True,
                 qk_scale=None, proj_bias=True, v_shortcut=False, use_layer_scale=False,
                 layer_scale_init_value=0., init_cfg=None):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads '
                             f'({num_heads})')
        if v_shortcut and num_heads != 1:
            raise ValueError('v_shortcut needs num_heads=1')
        self.input_dims = input_dims or embed_dims
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.v_shortcut = v_shortcut
        self.init_cfg = init_cfg
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale  # None: F's default, head_dims ** -0.5
        self.qkv = nn.Linear(self.input_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.out_drop = _build_dropout(dropout_layer)
        if use_layer_scale:
            warnings.warn('use_layer_scale is deprecated; use layer_scale_init_value instead')
        if use_layer_scale or layer_scale_init_value > 0:
            self.gamma1 = LayerScale(embed_dims, layer_scale_init_value or 1e-5)
        else:
            self.gamma1 = nn.Identity()

    def forward(self, x):
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0., scale=self.scale)
        out = out.transpose(1, 2).reshape(B, N, self.embed_dims)
        out = self.out_drop(self.gamma1(self.proj_drop(self.proj(out))))
        if self.v_shortcut:
            out = v.squeeze(1) + out
        return out
