"""``minicls.nn``: layers (``nn.Conv2d``...), their functional twins (``minicls.nn.functional``),
initialisers (``nn.init``) and the mmcv-style builders (``nn.build_norm_layer``...).

Importing it registers the layer types in ``minicls.registry.MODELS``.
"""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from .builders import (ConvModule, build_activation_layer, build_conv_layer,  # noqa: F401
                       build_norm_layer, infer_abbr)
from .modules import *  # noqa: F401,F403
from .modules import _BatchNorm, _NormBase  # noqa: F401
from .parameter import Parameter  # noqa: F401
