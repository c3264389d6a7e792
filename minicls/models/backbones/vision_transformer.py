"""Vision Transformer (Dosovitskiy et al., 2021) with mmpretrain's arguments and keys.

An image becomes a sequence of tokens: ``patch_embed`` cuts it into ``p x p`` patches and
maps each to ``embed_dims`` numbers; a learned ``cls_token`` is put in front and a learned
``pos_embed`` (one vector per position) is added, because attention alone does not know
where a token came from. ``num_layers`` encoder layers follow, each

    x = x + attn(ln1(x))        # tokens exchange information
    x = x + ffn(ln2(x))         # each token is transformed on its own

and a final LayerNorm (``ln1``). The output is the cls token (``out_type='cls_token'``), the
patch tokens as a feature map, their LayerNorm-ed mean (``'avg_featmap'``, via ``ln2``) or
everything (``'raw'``).

A checkpoint trained at another image size loads: a state-dict pre-load hook resizes its
``pos_embed`` to this model's grid (bicubic), and ``forward`` resizes it again for inputs of
another size than ``img_size``.
"""
import logging

import numpy as np

import minicls
from minicls import nn
from minicls.cnn import FFN, PatchEmbed, build_norm_layer
from minicls.registry import MODELS

from ..base_module import BaseModule
from ..utils.attention import MultiheadAttention
from ..utils.embed import resize_pos_embed

__all__ = ['TransformerEncoderLayer', 'VisionTransformer']

logger = logging.getLogger('minicls')


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class TransformerEncoderLayer(BaseModule):
    """``x + attn(ln1(x))``, then ``+ ffn(ln2(.))`` (pre-norm residual blocks).

    Args:
        embed_dims (int): the token size.
        num_heads (int): attention heads.
        feedforward_channels (int): the FFN's hidden size.
        layer_scale_init_value (float): > 0 adds LayerScale to both branches. Defaults to 0.
        drop_rate (float): dropout after the attention projection and in the FFN.
            Defaults to 0.
        attn_drop_rate (float): dropout on the attention weights. Defaults to 0.
        drop_path_rate (float): stochastic depth of both branches. Defaults to 0.
        num_fcs (int): linear layers in the FFN. Defaults to 2.
        qkv_bias (bool): bias in the qkv projection. Defaults to True.
        ffn_type (str): only ``'origin'`` (mmcv's FFN) here. Defaults to ``'origin'``.
        act_cfg (dict): the FFN activation. Defaults to ``dict(type='GELU')``.
        norm_cfg (dict): the norm layers. Defaults to ``dict(type='LN')``.
        init_cfg (dict, optional): initialisation config. Defaults to None.
    """

    def __init__(self, embed_dims, num_heads, feedforward_channels, layer_scale_init_value=0.,
                 drop_rate=0., attn_drop_rate=0., drop_path_rate=0., num_fcs=2, qkv_bias=True,
                 ffn_type='origin', act_cfg=dict(type='GELU'), norm_cfg=dict(type='LN'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if ffn_type != 'origin':
            raise NotImplementedError(f"ffn_type {ffn_type!r}: minicls has only 'origin'")
        self.embed_dims = embed_dims
        drop_path = dict(type='DropPath', drop_prob=float(drop_path_rate))
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = MultiheadAttention(embed_dims=embed_dims, num_heads=num_heads,
                                       attn_drop=attn_drop_rate, proj_drop=drop_rate,
                                       dropout_layer=drop_path, qkv_bias=qkv_bias,
                                       layer_scale_init_value=layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=feedforward_channels,
                       num_fcs=num_fcs, ffn_drop=drop_rate, dropout_layer=drop_path,
                       act_cfg=act_cfg, layer_scale_init_value=layer_scale_init_value)

    @property
    def norm1(self):
        return self.ln1

    @property
    def norm2(self):
        return self.ln2

    def init_weights(self):
        """The FFN's Linears: Xavier-uniform weights, biases ~ N(0, 1e-6^2) (mmpretrain's)."""
        super().init_weights()
        with minicls.no_grad():
            for m in self.ffn.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


def _arch(embed_dims, num_layers, num_heads, feedforward_channels):
    return dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=num_heads,
                feedforward_channels=feedforward_channels)


@MODELS.register_module()
class VisionTransformer(BaseModule):
    """Vision Transformer backbone; returns a tuple with one output per ``out_indices``.

    Args:
        arch (str | dict): a name of ``arch_zoo`` ('deit-tiny', 'deit-small', 'deit-base',
            'small', 'base', 'large', 'huge' or their one-letter forms) or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels``.
            Defaults to 'base'.
        img_size (int | tuple): the usual input size (sets the ``pos_embed`` grid).
            Defaults to 224.
        patch_size (int | tuple): the patch size. Defaults to 16.
        in_channels (int): image channels. Defaults to 3.
        out_indices (int | Sequence[int]): the layers to output (negative from the end).
            Defaults to -1.
        drop_rate (float): dropout after the position embedding and in the layers.
            Defaults to 0.
        drop_path_rate (float): stochastic depth, rising linearly from 0 in the first layer
            to this in the last. Defaults to 0.
        qkv_bias (bool): bias in the qkv projections. Defaults to True.
        norm_cfg (dict): the norm layers. Defaults to ``dict(type='LN', eps=1e-6)``.
        final_norm (bool): a LayerNorm (``ln1``) after the last layer. Defaults to True.
        out_type (str): 'cls_token' (B, C), 'featmap' (B, C, H, W), 'avg_featmap' (B, C)
            or 'raw' (B, N, C). Defaults to 'cls_token'.
        with_cls_token (bool): prepend the class token. Defaults to True.
        frozen_stages (int): > 0 freezes the embeddings and the first ``frozen_stages``
            layers (and ``ln1`` when all are frozen). Defaults to -1.
        interpolate_mode (str): how ``pos_embed`` is resized. Defaults to 'bicubic'.
        layer_scale_init_value (float): > 0 adds LayerScale in every layer. Defaults to 0.
        patch_cfg (dict): overrides of the ``PatchEmbed`` arguments. Defaults to ``{}``.
        layer_cfgs (dict | Sequence[dict]): overrides of the layers' arguments (one dict for
            all, or one per layer). Defaults to ``{}``.
        pre_norm (bool): a LayerNorm before the layers (CLIP); the patch conv then has no
            bias. Defaults to False.
        init_cfg (dict | list[dict], optional): initialisation config. Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['s', 'small'], _arch(768, 8, 8, 768 * 3)),
        **dict.fromkeys(['b', 'base'], _arch(768, 12, 12, 3072)),
        **dict.fromkeys(['l', 'large'], _arch(1024, 24, 16, 4096)),
        **dict.fromkeys(['h', 'huge'], _arch(1280, 32, 16, 5120)),
        **dict.fromkeys(['deit-t', 'deit-tiny'], _arch(192, 12, 3, 192 * 4)),
        **dict.fromkeys(['deit-s', 'deit-small'], _arch(384, 12, 6, 384 * 4)),
        **dict.fromkeys(['deit-b', 'deit-base'], _arch(768, 12, 12, 768 * 4)),
    }
    num_extra_tokens = 1  # the class token
    OUT_TYPES = {'raw', 'cls_token', 'featmap', 'avg_featmap'}

    def __init__(self, arch='base', img_size=224, patch_size=16, in_channels=3, out_indices=-1,
                 drop_rate=0., drop_path_rate=0., qkv_bias=True,
                 norm_cfg=dict(type='LN', eps=1e-6), final_norm=True, out_type='cls_token',
                 with_cls_token=True, frozen_stages=-1, interpolate_mode='bicubic',
                 layer_scale_init_value=0., patch_cfg=dict(), layer_cfgs=dict(),
                 pre_norm=False, init_cfg=None):
        super().__init__(init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.img_size = _pair(img_size)

        self.patch_embed = PatchEmbed(**dict(
            dict(in_channels=in_channels, input_size=img_size, embed_dims=self.embed_dims,
                 conv_type='Conv2d', kernel_size=patch_size, stride=patch_size,
                 bias=not pre_norm), **patch_cfg))
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        if out_type not in self.OUT_TYPES:
            raise ValueError(f'Unsupported `out_type` {out_type}, please choose from '
                             f'{sorted(self.OUT_TYPES)}')
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        if with_cls_token:
            self.cls_token = nn.Parameter(minicls.zeros(1, 1, self.embed_dims))
        elif out_type != 'cls_token':
            self.cls_token = None
            self.num_extra_tokens = 0
        else:
            raise ValueError('with_cls_token must be True when `out_type="cls_token"`.')

        self.interpolate_mode = interpolate_mode
        self.pos_embed = nn.Parameter(
            minicls.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        for i, index in enumerate(out_indices):
            out_indices[i] = self.num_layers + index if index < 0 else index
            if not 0 <= out_indices[i] <= self.num_layers:
                raise ValueError(f'Invalid out_indices {index} for {self.num_layers} layers')
        self.out_indices = out_indices

        rates = np.linspace(0, drop_path_rate, self.num_layers)  # stochastic depth, rising
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            cfg = dict(embed_dims=self.embed_dims, num_heads=self.arch_settings['num_heads'],
                       feedforward_channels=self.arch_settings['feedforward_channels'],
                       layer_scale_init_value=layer_scale_init_value, drop_rate=drop_rate,
                       drop_path_rate=rates[i], qkv_bias=qkv_bias, norm_cfg=norm_cfg)
            cfg.update(layer_cfgs[i])
            self.layers.append(TransformerEncoderLayer(**cfg))

        self.frozen_stages = frozen_stages
        self.pre_norm = build_norm_layer(norm_cfg, self.embed_dims)[1] if pre_norm \
            else nn.Identity()
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if out_type == 'avg_featmap':
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if frozen_stages > 0:
            self._freeze_stages()

    def _parse_arch(self, arch):
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise KeyError(f'Arch {arch} is not in default archs {sorted(self.arch_zoo)}')
            return self.arch_zoo[arch.lower()]
        essential = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'}
        if not isinstance(arch, dict) or not essential <= set(arch):
            raise ValueError(f'Custom arch needs a dict with keys {sorted(essential)}, got '
                             f'{arch!r}')
        return arch

    @property
    def norm1(self):
        return self.ln1

    @property
    def norm2(self):
        return self.ln2

    def init_weights(self):
        """The layers' own init, then ``pos_embed ~ N(0, 0.02^2)`` truncated (unless
        Pretrained); ``cls_token`` stays 0."""
        super().init_weights()
        if not (isinstance(self.init_cfg, dict) and self.init_cfg['type'] == 'Pretrained'):
            with minicls.no_grad():
                nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def _prepare_pos_embed(self, state_dict, prefix, *args):
        """Pre-load hook: fit a checkpoint's ``pos_embed`` to this model (drop its cls entry
        when this model has no cls token; resize its grid when the grids differ)."""
        name = prefix + 'pos_embed'
        if name not in state_dict:
            return
        value = state_dict[name]
        value = np.asarray(value.numpy() if minicls.is_tensor(value) else value)
        if not self.with_cls_token and value.shape[1] == self.pos_embed.shape[1] + 1:
            value = value[:, 1:]
        if value.shape != self.pos_embed.shape:
            logger.info(f'Resize the pos_embed shape from {value.shape} to '
                        f'{self.pos_embed.shape}.')
            side = int(np.sqrt(value.shape[1] - self.num_extra_tokens))
            with minicls.no_grad():
                value = resize_pos_embed(minicls.tensor(value), (side, side),
                                         self.patch_embed.init_out_size, self.interpolate_mode,
                                         self.num_extra_tokens).numpy()
        state_dict[name] = value

    def _freeze_stages(self):
        self.pos_embed.requires_grad = False
        self.drop_after_pos.eval()
        self.patch_embed.eval()
        frozen = [self.patch_embed, self.pre_norm] + list(self.layers[:self.frozen_stages])
        if self.frozen_stages == len(self.layers) and self.final_norm:
            frozen.append(self.ln1)
        for m in frozen:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False
        if self.cls_token is not None:
            self.cls_token.requires_grad = False

    def forward(self, x):
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = minicls.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x, hw):
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_token = x[:, self.num_extra_tokens:]
        if self.out_type == 'featmap':  # (B, N, C) -> (B, C, H, W)
            return patch_token.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_token.mean(dim=1))  # 'avg_featmap'
