"""Activation functions of ``minicls.nn.functional`` (the ops live in ``autograd/ops``).

silu, relu6, leaky_relu, hardsigmoid and hardswish are put together from existing ops
(sigmoid, clamp, where), so their gradients come from those ops' backward.
"""
from ... import functional as _F
from ...autograd import ops


def relu(x, inplace=False):
    return ops.ReLU.apply(x)


def gelu(x, approximate='none'):
    if approximate not in ('none', 'tanh'):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.GELU.apply(x, approximate=approximate)


def sigmoid(x):
    return _F.sigmoid(x)


def tanh(x):
    return _F.tanh(x)


def softmax(x, dim=None):
    return _F.softmax(x, dim=-1 if dim is None else dim)


def log_softmax(x, dim=None):
    return _F.log_softmax(x, dim=-1 if dim is None else dim)


def silu(x, inplace=False):
    """x * sigmoid(x) (also called Swish)."""
    return x * _F.sigmoid(x)


def relu6(x, inplace=False):
    """min(max(x, 0), 6)."""
    return _F.clamp(x, 0, 6)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return _F.where(x > 0, x, x * negative_slope)


def hardsigmoid(x, inplace=False):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return _F.clamp(x / 6 + 0.5, 0, 1)


def hardswish(x, inplace=False):
    """x * hardsigmoid(x)."""
    return x * hardsigmoid(x)
