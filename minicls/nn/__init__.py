"""``minicls.nn``: layers and their functional twins (``minicls.nn.functional``)."""
from . import functional  # noqa: F401
