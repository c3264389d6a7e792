"""``minicls.nn``: layers (``nn.Conv2d``...), their functional twins (``minicls.nn.functional``)
and initialisers (``nn.init``), as ``torch.nn``: no configs, no registry.

The mmcv-style builders (``build_norm_layer``...) and ``ConvModule`` live in ``minicls.cnn``
(mmcv's ``mmcv.cnn``), which also registers these layers in ``minicls.registry.MODELS``.
"""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import _BatchNorm, _NormBase  # noqa: F401
from .parameter import Parameter  # noqa: F401

_CNN_NAMES = ('ConvModule', 'build_activation_layer', 'build_conv_layer', 'build_norm_layer',
              'infer_abbr')


def __getattr__(name):
    """``from minicls.nn import ConvModule`` (the builders' old home) still works.

    Imported here, on first use, not at the top: ``minicls.cnn`` imports ``minicls.nn`` and the
    registry, and ``minicls.nn`` itself must stay free of both.
    """
    if name in _CNN_NAMES:
        from .. import cnn
        return getattr(cnn, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
