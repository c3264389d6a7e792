"""``Linear`` (``y = x W^T + b``) and ``Identity``."""
import math

from ...creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer). Any constructor
    arguments are accepted and ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``.

    Shapes: input ``(*, in_features)`` -> output ``(*, out_features)``; ``weight`` is
    ``(out_features, in_features)``, ``bias`` is ``(out_features,)``.
    Default init (PyTorch's): ``kaiming_uniform_(weight, a=sqrt(5))``, i.e.
    U(-1/sqrt(in), 1/sqrt(in)), and the bias U(-1/sqrt(in), 1/sqrt(in)).

    Args:
        in_features (int): Size of each input sample.
        out_features (int): Size of each output sample.
        bias (bool): Add a learnable bias. Default: True.
        device (str, optional), dtype (optional): Where and in what dtype the parameters
            are created. Default: None, CPU and the default float dtype.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(
                f'{self!r} expected an input whose last dimension is {self.in_features}, but '
                f'got shape {tuple(input.shape)}. For images, flatten first: x.flatten(1) or '
                'nn.Flatten().')
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f'in_features={self.in_features}, out_features={self.out_features}, '
                f'bias={self.bias is not None}')
