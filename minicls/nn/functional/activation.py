"""Activation functions of ``minicls.nn.functional`` (the ops live in ``autograd/ops``)."""
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
