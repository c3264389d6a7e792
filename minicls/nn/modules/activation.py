"""Activation layers: thin Modules around ``nn.functional`` (no parameters)."""
import warnings

from .. import functional as F
from .module import Module


class ReLU(Module):
    """``max(x, 0)``. ``inplace`` is accepted for PyTorch compatibility and ignored (minicls
    always returns a new tensor)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.relu(input)

    def extra_repr(self):
        return 'inplace=True' if self.inplace else ''


class Tanh(Module):
    """``tanh(x)``."""

    def forward(self, input):  # noqa: A002
        return F.tanh(input)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input):  # noqa: A002
        return F.sigmoid(input)


class GELU(Module):
    """``x * Phi(x)`` (``approximate='tanh'`` uses the tanh formula)."""

    def __init__(self, approximate='none'):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f'approximate={self.approximate!r}'


class _NoParameters(Module):
    """An activation without parameters; ``inplace`` is accepted and ignored, as in ReLU."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return 'inplace=True' if self.inplace else ''


class SiLU(_NoParameters):
    """``x * sigmoid(x)``."""

    def forward(self, input):  # noqa: A002
        return F.silu(input)


class ReLU6(_NoParameters):
    """``min(max(x, 0), 6)``."""

    def forward(self, input):  # noqa: A002
        return F.relu6(input)


class Hardsigmoid(_NoParameters):
    """``relu6(x + 3) / 6``."""

    def forward(self, input):  # noqa: A002
        return F.hardsigmoid(input)


class Hardswish(_NoParameters):
    """``x * hardsigmoid(x)``."""

    def forward(self, input):  # noqa: A002
        return F.hardswish(input)


class LeakyReLU(Module):
    """``x`` where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f'negative_slope={self.negative_slope}' + (', inplace=True' if self.inplace else '')


def _implicit_dim(dim, ndim, name):
    """PyTorch's legacy choice when ``dim`` is None: 0 for 0-, 1- and 3-D inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(f'Implicit dimension choice for {name} has been deprecated. Change the call '
                  'to include dim=X as an argument.', stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.softmax(input, _implicit_dim(self.dim, input.ndim, 'softmax'))

    def extra_repr(self):
        return f'dim={self.dim}'


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.log_softmax(input, _implicit_dim(self.dim, input.ndim, 'log_softmax'))

    def extra_repr(self):
        return f'dim={self.dim}'
