"""``LayerNorm`` and ``GroupNorm``: normalise each sample on its own (no running statistics)."""
import numbers

from ...creation import ones, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class LayerNorm(Module):
    """Normalise over the last ``len(normalized_shape)`` dims of each sample:
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` (biased variance).

    ``weight`` and ``bias`` have shape ``normalized_shape`` (ones and zeros at init).

    Args:
        normalized_shape (int or tuple): The trailing dims to normalise over.
        eps (float): Added to the variance for stability. Default: 1e-5.
        elementwise_affine (bool): Learnable ``weight`` and ``bias``. Default: True.
        bias (bool): With ``elementwise_affine``: False drops the bias only. Default: True.
        device (str, optional), dtype (optional): Where and in what dtype the parameters
            are created. Default: None, CPU and the default float dtype.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter('bias', None)
        else:
            self.register_parameter('weight', None)
            self.register_parameter('bias', None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):  # noqa: A002
        n = len(self.normalized_shape)
        if tuple(input.shape[input.ndim - n:]) != self.normalized_shape or input.ndim < n:
            raise RuntimeError(f'{self!r} expected an input whose last {n} dim(s) are '
                               f'{self.normalized_shape}, but got shape {tuple(input.shape)}.')
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f'{self.normalized_shape}, eps={self.eps}, '
                f'elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}')


class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups and normalise each group of each sample
    over its channels and spatial positions; then a per-channel ``weight``/``bias``
    (shape ``(num_channels,)``).

    Args:
        num_groups (int): Number of groups; must divide ``num_channels``.
        num_channels (int): C, the channels of an (N, C, ...) input.
        eps (float): Added to the variance for stability. Default: 1e-5.
        affine (bool): Learnable per-channel ``weight`` and ``bias``. Default: True.
        device (str, optional), dtype (optional): Where and in what dtype the parameters
            are created. Default: None, CPU and the default float dtype.
        bias (bool): With ``affine``: False drops the bias only. Default: True.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f'num_channels ({num_channels}) must be divisible by num_groups '
                             f'({num_groups})')
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(ones(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter('weight', None)
        if affine and bias:
            self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter('bias', None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):  # noqa: A002
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f'{self!r} expected input with {self.num_channels} channels '
                               f'(dim 1), but got shape {tuple(input.shape)}.')
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f'{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, '
                f'bias={self.bias is not None}')
