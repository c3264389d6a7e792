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
