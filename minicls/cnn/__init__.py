"""``minicls.cnn``: mmcv's ``mmcv.cnn`` -- layers built from config dicts, and ``ConvModule``.

``minicls.nn`` is PyTorch's ``torch.nn`` and knows nothing of configs or registries; this
package is where config meets layer: importing it registers every ``nn`` layer in
``minicls.registry.MODELS`` (under its class name and mmcv's short names ``'BN'``, ``'GN'``,
``'Conv'``...), and its builders look a cfg's ``type`` up there.
"""
from .bricks import (ConvModule, build_activation_layer, build_conv_layer, build_norm_layer,
                     infer_abbr)
from .transformer import FFN, AdaptivePadding, LayerScale, PatchEmbed, build_dropout

__all__ = ['ConvModule', 'build_conv_layer', 'build_norm_layer', 'build_activation_layer',
           'infer_abbr', 'PatchEmbed', 'FFN', 'AdaptivePadding', 'LayerScale', 'build_dropout']
