"""``Conv2d``: a 2-D convolution layer over ``(N, C, H, W)`` images."""
import math

from ...creation import empty
from ...utils import to_2tuple
from .. import functional as F
from .. import init
from ..functional.conv import _conv_padding
from ..parameter import Parameter
from .module import Module


class Conv2d(Module):
    """``out[n, o] = bias[o] + sum_c weight[o, c] (*) input[n, c]`` (cross-correlation).

    Shapes: input ``(N, in_channels, H, W)`` -> output ``(N, out_channels, H_out, W_out)`` with
    ``H_out = floor((H + 2*padding - dilation*(kernel-1) - 1) / stride) + 1`` (same for W).
    ``weight`` is ``(out_channels, in_channels // groups, kh, kw)``, ``bias`` ``(out_channels,)``.
    ``groups=in_channels`` gives a depthwise convolution. ``padding`` is an int, a pair, or
    ``'valid'`` / ``'same'`` (kept as that string, as in PyTorch; ``F.conv2d`` works it out).
    Default init (PyTorch's): ``kaiming_uniform_(weight, a=sqrt(5))`` and the bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels // groups * kh * kw``.

    Args:
        in_channels (int): Channels of the input.
        out_channels (int): Channels of the output (one filter each).
        kernel_size (int or tuple): ``(kh, kw)``; an int for a square kernel.
        stride (int or tuple): Default: 1.
        padding (int, tuple or str): Zeros added on each side, or ``'valid'`` / ``'same'``.
            Default: 0.
        dilation (int or tuple): Spacing between the kernel taps. Default: 1.
        groups (int): Split the channels into this many independent convs. Default: 1.
        bias (bool): Add a learnable bias. Default: True.
        padding_mode (str): Only ``'zeros'`` is supported.
        device (str, optional), dtype (optional): Where and in what dtype the parameters
            are created. Default: None, CPU and the default float dtype.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode='zeros', device=None, dtype=None):
        super().__init__()
        if groups <= 0:
            raise ValueError('groups must be a positive integer')
        if in_channels % groups != 0:
            raise ValueError(f'in_channels ({in_channels}) must be divisible by groups ({groups})')
        if out_channels % groups != 0:
            raise ValueError(f'out_channels ({out_channels}) must be divisible by groups '
                             f'({groups})')
        if padding_mode != 'zeros':
            raise NotImplementedError(f"padding_mode={padding_mode!r} is not supported by "
                                      "minicls; only 'zeros' is (pad the input yourself).")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = to_2tuple(kernel_size, 'kernel_size')
        self.stride = to_2tuple(stride, 'stride')
        self.dilation = to_2tuple(dilation, 'dilation')
        self.padding = padding if isinstance(padding, str) else to_2tuple(padding, 'padding')
        _conv_padding(self.padding, self.kernel_size, self.stride, self.dilation)  # check it now
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size,
                                      device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        if input.ndim != 4:
            hint = ' For one image use x.unsqueeze(0).'
            if input.ndim == 3 and self.in_channels == 1:
                hint = ' Grayscale (N, H, W) images need a channel axis: x.unsqueeze(1).'
            raise RuntimeError(f'{self._get_name()} expected a 4-D input (N, C, H, W), but got '
                               f'a {input.ndim}-D input of shape {tuple(input.shape)}.{hint}')
        if input.shape[1] != self.in_channels:
            raise RuntimeError(
                f'{self!r} expected input with {self.in_channels} channels (shape (N, '
                f'{self.in_channels}, H, W)), but got {input.shape[1]} channels: input shape '
                f'{tuple(input.shape)}.')

    def forward(self, input):  # noqa: A002
        self._check_input(input)
        return F.conv2d(input, self.weight, self.bias, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups)

    def extra_repr(self):
        text = (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}')
        if self.padding != (0, 0):
            text += f', padding={self.padding}'
        if self.dilation != (1, 1):
            text += f', dilation={self.dilation}'
        if self.groups != 1:
            text += f', groups={self.groups}'
        if self.bias is None:
            text += ', bias=False'
        return text
