"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool1d/2d`` (no parameters).

``H_out = floor((H + 2*padding - dilation*(k-1) - 1) / stride) + 1`` (ceil with ``ceil_mode``);
``stride`` defaults to ``kernel_size``. Adaptive pools choose the windows so that the output has
``output_size`` (``AdaptiveAvgPool2d(1)`` is global average pooling).
"""
from .. import functional as F
from .module import Module


class MaxPool2d(Module):
    """Maximum over each window (padding counts as -inf, never as the maximum).

    Args:
        kernel_size (int or tuple): The window, ``(kh, kw)`` or an int for a square.
        stride (int or tuple, optional): Default: None, ``kernel_size``.
        padding (int or tuple): -inf added on each side, at most half the window. Default: 0.
        dilation (int or tuple): Spacing between the window's taps. Default: 1.
        return_indices (bool): Only False is supported.
        ceil_mode (bool): Round the output size up (a last, partial window). Default: False.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError('MaxPool2d(return_indices=True) is not supported')
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):  # noqa: A002
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode)

    def extra_repr(self):
        return (f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, '
                f'dilation={self.dilation}, ceil_mode={self.ceil_mode}')


class AvgPool2d(Module):
    """Mean over each window.

    Args:
        kernel_size (int or tuple): The window, ``(kh, kw)`` or an int for a square.
        stride (int or tuple, optional): Default: None, ``kernel_size``.
        padding (int or tuple): Zeros added on each side, at most half the window. Default: 0.
        ceil_mode (bool): Round the output size up (a last, partial window). Default: False.
        count_include_pad (bool): Count the padded zeros in the divisor. Default: True.
        divisor_override (int, optional): Divide every window sum by this instead.
            Default: None.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):  # noqa: A002
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'


class AdaptiveAvgPool2d(Module):
    """Average to a fixed ``output_size`` ``(H_out, W_out)`` (an int means square)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f'output_size={self.output_size}'


class AdaptiveAvgPool1d(Module):
    """Average ``(N, C, L)`` to ``(N, C, output_size)``."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f'output_size={self.output_size}'


class AdaptiveAvgPool3d(Module):
    """Average ``(N, C, D, H, W)`` to ``(N, C, *output_size)`` (an int means a cube)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return F.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self):
        return f'output_size={self.output_size}'
