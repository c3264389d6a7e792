"""``minicls.nn.functional`` (``F``): the functional form of every layer."""
from .activation import gelu, log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
