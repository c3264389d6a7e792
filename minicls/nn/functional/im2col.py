"""Sliding windows without Python loops over pixels: the helpers behind conv and pooling.

Notation (as in DeZero/Chainer): an input ``x`` of shape (N, C, H, W), a kernel of KH x KW
taps, stride (SH, SW), dilation (DH, DW), padding (top, bottom, left, right), and an output
of OH x OW windows. Output pixel (oh, ow) sees input pixels

    x_pad[oh * SH + i * DH, ow * SW + j * DW]      for each kernel tap (i, j).

So for one fixed tap (i, j), the pixels seen by *all* outputs form one strided slice of the
padded input::

    x_pad[:, :, i*DH : i*DH + SH*(OH-1) + 1 : SH, j*DW : j*DW + SW*(OW-1) + 1 : SW]  # (N, C, OH, OW)

Looping over the KH*KW taps (9 for a 3x3 kernel) and copying one slice each builds the
"column" tensor of every window at NumPy/CuPy speed (``im2col``). Going back, ``col2im``
adds the KH*KW slices into a zero image with ``+=`` (a pixel shared by several windows simply
receives several additions, one per tap, so no ``add.at`` is needed).

Explained in tutorials/05_convolution.md.
"""
import math

from ...backend import get_array_module


def tap_slices(kernel, stride, dilation, out_size):
    """One ``(rows, cols)`` slice pair per kernel tap (i, j), row-major: the pixels of a padded
    input that tap (i, j) of every output window reads (see the module docstring)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    return [(slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def pad2d(x, padding, value=0.0):
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)`` with ``value``."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, :top] = value
    out[:, :, h + top:] = value
    out[:, :, top:h + top, :left] = value
    out[:, :, top:h + top, w + left:] = value
    out[:, :, top:h + top, left:w + left] = x
    return out


def im2col(x, kernel, stride, dilation, padding, out_size, value=0.0):
    """Columns of every window: (A, B, H, W) -> (A, KH, KW, B, OH, OW), padding with ``value``.

    The conv calls it on x viewed as (C, N, H, W), so the result reshapes for free into the
    GEMM operand (C*KH*KW, N*OH*OW) (see conv.py for why the batch sits inside).
    """
    xp = get_array_module(x)
    x = pad2d(x, padding, value)
    a, b = x.shape[:2]
    cols = xp.empty((a, kernel[0] * kernel[1], b) + tuple(out_size), dtype=x.dtype)
    for k, (rows, columns) in enumerate(tap_slices(kernel, stride, dilation, out_size)):
        cols[:, k] = x[:, :, rows, columns]
    return cols.reshape((a,) + tuple(kernel) + (b,) + tuple(out_size))


def col2im(cols, image_size, kernel, stride, dilation, padding):
    """The adjoint of ``im2col``: (A, KH, KW, B, OH, OW) -> (A, B, H, W), summing overlaps.

    ``cols`` may be any strided view; it is read slice by slice, never copied whole.
    """
    xp = get_array_module(cols)
    a, b = cols.shape[0], cols.shape[3]
    h, w = image_size
    top, bottom, left, right = padding
    out_size = cols.shape[-2:]
    image = xp.zeros((a, b, h + top + bottom, w + left + right), dtype=cols.dtype)
    for k, (rows, columns) in enumerate(tap_slices(kernel, stride, dilation, out_size)):
        image[:, :, rows, columns] += cols[:, k // kernel[1], k % kernel[1]]
    return image[:, :, top:top + h, left:left + w]


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's ``pooling_output_shape`` for one axis.

    floor (or ceil) of (size + 2*pad - dilation*(kernel-1) - 1) / stride, plus 1; with
    ceil_mode the last window must still start inside the input or the left padding.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def check_pool_args(name, x_shape, kernel, stride, padding, dilation, out_size):
    """PyTorch's argument checks for pooling, with its wording (plus how to fix it)."""
    if len(x_shape) != 4:
        raise RuntimeError(f'{name}: expected a 3D (C, H, W) or 4D (N, C, H, W) input, got '
                           f'shape {tuple(x_shape)}')
    for k, s, p, d in zip(kernel, stride, padding, dilation):
        if k <= 0 or s <= 0 or d <= 0 or p < 0:
            raise RuntimeError(f'{name}: kernel_size, stride and dilation must be positive and '
                               f'padding non-negative, got kernel_size={kernel}, '
                               f'stride={stride}, padding={padding}, dilation={dilation}')
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f'{name}: pad should be at most half of effective kernel size, '
                               f'but got pad={p}, kernel_size={k} and dilation={d}. Use a '
                               f'smaller padding, or pad the input yourself with F.pad.')
    if min(out_size) < 1:
        c, h, w = x_shape[1:]
        raise RuntimeError(f'{name}: Given input size: ({c}x{h}x{w}). Calculated output '
                           f'size: ({c}x{out_size[0]}x{out_size[1]}). Output size is too '
                           'small: use a smaller kernel or more padding')
