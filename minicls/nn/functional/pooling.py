"""Pooling and padding: max/avg pooling over sliding windows, adaptive average pooling, pad.

Max and average pooling loop over the KH*KW kernel taps; for each tap, the pixels that tap
reads in *every* window form one strided slice of the padded input (``im2col.tap_slices``).
So the window max is a running maximum over KH*KW slices, the window sum a running sum, and
both backward passes add the gradient back through the same slices with ``+=`` (max
pooling writes it instead where the windows tile the input, see ``MaxPool2d``).
No column tensor is built: pooling needs only one output-sized buffer at a time.
"""
import numpy as np

from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...parallel import parallel_for
from ...utils import to_2tuple
from .im2col import check_pool_args, pad2d, pool_output_size, tap_slices


def _full_padding(size, kernel, stride, padding, dilation, out_size):
    """(top, bottom, left, right): ``padding`` on each side, plus the extra bottom/right rows
    that ceil_mode's last window may need (they are ignored by max and by the avg divisor)."""
    result = []
    for s, k, st, p, d, o in zip(size, kernel, stride, padding, dilation, out_size):
        needed = st * (o - 1) + d * (k - 1) + 1      # rows the last window reaches
        result += [p, max(p, needed - s - p)]
    return tuple(result)


class MaxPool2d(Function):
    """y[n, c, oh, ow] = max over taps (i, j) of x_pad[n, c, oh*SH + i*DH, ow*SW + j*DW],
    padding with -inf (a padded pixel never wins). dx: dy goes to the arg max of its window;
    ties go to the first tap in row-major order, as in PyTorch.

    Speed (CPU): the work is cut into blocks of images/channels (``_blocks``) small enough to
    stay in cache over the KH*KW tap passes, run on the threads of ``parallel_for``. Every
    step writes into a preallocated buffer (no boolean fancy indexing): the arg max keeps
    ``arg = max(arg, k * (window > best))``, which is the first max since k only grows. In
    backward, when the windows tile the input (stride == kernel, no dilation) each pixel gets
    one tap of one window, so ``gx[taps k] = dy * (arg == k)`` is written once, not added up
    (only for a finite dy: inf * 0 would be nan; a losing pixel may hold -0.0 there).

    Plain reference: minicls.nn.functional.reference.max_pool2d (and max_pool2d_backward)."""
    cases = [
        OpCase(lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, padding=1), [(2, 2, 7, 6)],
               domain=(-3.0, -1.0), name='negative-input-padded'),
        OpCase(lambda lib, x: lib.nn.functional.max_pool2d(x, (2, 3), stride=(2, 1)),
               [(1, 1, 5, 7)], name='nonsquare-untiled-batch1'),
        OpCase(lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, padding=1, dilation=2,
                                                           ceil_mode=True),
               [(1, 3, 8, 7)], name='dilation-ceil'),
        OpCase(lambda lib, x: lib.nn.functional.max_pool2d(x, 2, ceil_mode=True), [(2, 1, 5, 5)],
               name='ceil-odd'),
    ]

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation, out_size):
        xp = get_array_module(x)
        full = _full_padding(x.shape[2:], kernel, stride, padding, dilation, out_size)
        x_pad = pad2d(x, full, value=-float('inf'))    # x itself when there is no padding
        taps = tap_slices(kernel, stride, dilation, out_size)
        best = xp.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
        arg = xp.empty(best.shape, dtype=xp.uint8 if len(taps) < 256 else xp.int32)

        def run(block):                                # best[block], arg[block] from x[block]
            x_b, best_b, arg_b = x_pad[block], best[block], arg[block]
            mask, step = xp.empty(best_b.shape, dtype=bool), xp.empty_like(arg_b)
            best_b[...] = x_b[:, :, taps[0][0], taps[0][1]]
            arg_b[...] = 0
            for k, (rows, columns) in enumerate(taps[1:], start=1):
                window = x_b[:, :, rows, columns]
                xp.greater(window, best_b, out=mask)   # strictly greater: the first max wins
                xp.multiply(mask, arg.dtype.type(k), out=step)
                xp.maximum(arg_b, step, out=arg_b)     # k where the window beat best
                xp.maximum(best_b, window, out=best_b)

        parallel_for(run, _blocks(xp, x_pad.shape))
        if ctx.needs_input_grad:
            ctx.arg, ctx.x_shape, ctx.full, ctx.taps = arg, x.shape, full, taps
            ctx.tiled = stride == kernel and dilation == (1, 1)
            ctx.covered = (out_size[0] * kernel[0], out_size[1] * kernel[1])
        return best

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        top, bottom, left, right = ctx.full
        n, c, h, w = ctx.x_shape
        gx = xp.empty((n, c, h + top + bottom, w + left + right), dtype=gy.dtype)
        rows_covered, columns_covered = ctx.covered

        def run(block):                                # gx[block] from gy[block], arg[block]
            gx_b, gy_b, arg_b = gx[block], gy[block], ctx.arg[block]
            mask = xp.empty(arg_b.shape, dtype=bool)
            # one window per pixel: write, not add (gy * mask; so not for an inf or NaN in gy,
            # nor on a GPU, where asking would be a host sync)
            if ctx.tiled and xp is np and xp.isfinite(gy_b).all():
                gx_b[:, :, rows_covered:] = 0           # the rows and columns floor mode drops
                gx_b[:, :, :, columns_covered:] = 0
                for k, (rows, columns) in enumerate(ctx.taps):
                    xp.equal(arg_b, k, out=mask)
                    xp.multiply(gy_b, mask, out=gx_b[:, :, rows, columns])
            else:
                gx_b[...] = 0
                for k, (rows, columns) in enumerate(ctx.taps):
                    xp.equal(arg_b, k, out=mask)
                    gx_b[:, :, rows, columns] += xp.where(mask, gy_b, 0)

        parallel_for(run, _blocks(xp, gx.shape))
        return _crop(gx, ctx.x_shape, ctx.full)


def _blocks(xp, shape, size=2 ** 18):
    """(images, channels) index pairs cutting an (N, C, H, W) array into blocks of about
    ``size`` elements (whole images, else runs of channels of one image), for parallel_for;
    one block on a GPU, where one kernel already fills the device."""
    n, c, h, w = shape
    if xp is not np:
        return [(slice(None), slice(None))]
    channels = max(1, min(c, size // (h * w)))
    images = max(1, size // (c * h * w)) if channels == c else 1
    return [(slice(i, i + images), slice(j, j + channels))
            for i in range(0, n, images) for j in range(0, c, channels)]


class AvgPool2d(Function):
    """y = (sum over the window of x_pad, zero padded) / divisor. The divisor is
    ``divisor_override``, else the window's size clipped to the padded input (padding counts,
    ceil_mode's overhang does not) when ``count_include_pad``, else its number of real pixels.
    dx: each window spreads dy / divisor evenly over its pixels.

    Plain reference: minicls.nn.functional.reference.avg_pool2d (and avg_pool2d_backward)."""
    cases = [
        OpCase(lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, padding=1), [(2, 2, 7, 6)],
               name='pad-include'),
        OpCase(lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, padding=1,
                                                           count_include_pad=False),
               [(2, 2, 7, 6)], name='pad-exclude'),
        OpCase(lambda lib, x: lib.nn.functional.avg_pool2d(x, (2, 3), (2, 2), padding=(1, 1),
                                                           ceil_mode=True),
               [(1, 1, 6, 6)], name='nonsquare-ceil-include'),
        OpCase(lambda lib, x: lib.nn.functional.avg_pool2d(x, (3, 2), (2, 3), padding=(1, 1),
                                                           ceil_mode=True,
                                                           count_include_pad=False),
               [(1, 1, 6, 8)], name='nonsquare-ceil-exclude'),
        OpCase(lambda lib, x: lib.nn.functional.avg_pool2d(x, 2, divisor_override=3),
               [(1, 2, 5, 4)], name='divisor-override-untiled'),
    ]

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, out_size, count_include_pad,
                divisor_override):
        xp = get_array_module(x)
        full = _full_padding(x.shape[2:], kernel, stride, padding, (1, 1), out_size)
        x_pad = pad2d(x, full, value=0.0)
        taps = tap_slices(kernel, stride, (1, 1), out_size)
        total = x_pad[:, :, taps[0][0], taps[0][1]].copy()
        for rows, columns in taps[1:]:
            total += x_pad[:, :, rows, columns]
        divisor = _avg_divisor(xp, x.shape[2:], kernel, stride, padding, out_size,
                               count_include_pad, divisor_override, x.dtype)
        if ctx.needs_input_grad:
            ctx.divisor, ctx.x_shape, ctx.full, ctx.taps = divisor, x.shape, full, taps
        total /= divisor
        return total

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        share = gy / ctx.divisor
        gx = _zeros_padded(xp, ctx.x_shape, ctx.full, gy.dtype)
        for rows, columns in ctx.taps:
            gx[:, :, rows, columns] += share
        return _crop(gx, ctx.x_shape, ctx.full)


def _avg_divisor(xp, size, kernel, stride, padding, out_size, count_include_pad,
                 divisor_override, dtype):
    """The (OH, OW) divisors of avg pooling, following PyTorch's kernel."""
    if divisor_override:
        return xp.asarray(divisor_override, dtype=dtype)
    counts = []
    for s, k, st, p, o in zip(size, kernel, stride, padding, out_size):
        start = xp.arange(o) * st - p
        end = xp.minimum(start + k, s + p)          # the window, clipped to the padded input
        if not count_include_pad:                   # ... and to the real pixels
            start, end = xp.maximum(start, 0), xp.minimum(end, s)
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)


def _zeros_padded(xp, x_shape, full, dtype):
    top, bottom, left, right = full
    n, c, h, w = x_shape
    return xp.zeros((n, c, h + top + bottom, w + left + right), dtype=dtype)


def _crop(image, x_shape, full):
    top, left = full[0], full[2]
    return image[:, :, top:top + x_shape[2], left:left + x_shape[3]]


class AdaptiveAvgPool(Function):
    """Adaptive average pooling over the last ``len(out_size)`` axes. Output bin i of an axis
    of size S averages input [floor(i*S/O), ceil((i+1)*S/O)) (PyTorch's bins, which may
    overlap). That is a matrix product with an averaging matrix P (O, S) per axis:
    2-D: y = P_h @ x @ P_w^T, and dx = P_h^T @ dy @ P_w."""
    cases = [
        OpCase(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (3, 4)), [(2, 3, 5, 7)],
               name='2d-not-dividing'),
        OpCase(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, 1), [(2, 3, 4, 4)],
               name='2d-global'),
        OpCase(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (None, 2)),
               [(1, 2, 3, 5)], name='2d-none'),
        OpCase(lambda lib, x: lib.nn.functional.adaptive_avg_pool1d(x, 3), [(2, 3, 7)],
               name='1d-not-dividing'),
        OpCase(lambda lib, x: lib.nn.functional.adaptive_avg_pool3d(x, (1, 2, 3)),
               [(2, 2, 3, 4, 5)], name='3d'),
    ]

    @staticmethod
    def forward(ctx, x, *, out_size):
        xp = get_array_module(x)
        axes = range(x.ndim - len(out_size), x.ndim)
        mats = [_averaging_matrix(xp, x.shape[a], o, x.dtype) for a, o in zip(axes, out_size)]
        if ctx.needs_input_grad:
            ctx.mats = mats
        for a, mat in zip(axes, mats):
            x = _along_axis(xp, mat, x, a)
        return xp.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        axes = range(gy.ndim - len(ctx.mats), gy.ndim)
        for a, mat in zip(axes, ctx.mats):
            gy = _along_axis(xp, mat.T, gy, a)
        return gy


def _averaging_matrix(xp, size, out, dtype):
    """P (out, size): row i is 1/len over input bin [floor(i*size/out), ceil((i+1)*size/out))."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    j = xp.arange(size)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along_axis(xp, mat, x, axis):
    """Contract ``mat`` (O, S) with axis ``axis`` (size S) of x, as one GEMM."""
    x = xp.moveaxis(x, axis, -1)
    y = x.reshape(-1, x.shape[-1]) @ mat.T
    return xp.moveaxis(y.reshape(x.shape[:-1] + (mat.shape[0],)), -1, axis)


class Pad(Function):
    """Constant padding: ``pad = (left, right, top, bottom, ...)`` widths for the last axes,
    last axis first (PyTorch's order); negative widths crop. dx = dy without the border."""
    cases = [
        OpCase(lambda lib, x: lib.nn.functional.pad(x, (1, 2)), [(2, 3)], name='last-axis'),
        OpCase(lambda lib, x: lib.nn.functional.pad(x, (1, 0, 2, 1), value=-1.5),
               [(1, 2, 3, 3)], name='2d-value'),
        OpCase(lambda lib, x: lib.nn.functional.pad(x, (-1, 2, 0, -1)), [(2, 3, 4)],
               name='negative-crops'),
    ]

    @staticmethod
    def forward(ctx, x, *, pad, value):
        xp = get_array_module(x)
        widths = [(0, 0)] * (x.ndim - len(pad) // 2) + \
            [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
        out_shape = tuple(s + a + b for s, (a, b) in zip(x.shape, widths))
        if min(out_shape) < 0:
            raise ValueError(f'pad {tuple(pad)} would give a negative size {out_shape}')
        src = tuple(slice(max(-a, 0), s - max(-b, 0)) for s, (a, b) in zip(x.shape, widths))
        dst = tuple(slice(max(a, 0), o - max(b, 0)) for o, (a, b) in zip(out_shape, widths))
        out = xp.full(out_shape, value, dtype=x.dtype)
        out[dst] = x[src]
        if ctx.needs_input_grad:
            ctx.src, ctx.dst, ctx.shape = src, dst, x.shape
        return out

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(ctx.shape, dtype=gy.dtype)
        gx[ctx.src] = gy[ctx.dst]
        return gx


# ---------------------------------------------------------------- the public functions

def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over KH x KW windows of ``input`` (N, C, H, W) or (C, H, W); padding is -inf.
    ``stride`` defaults to ``kernel_size``. Output size per axis:
    floor-or-ceil((size + 2*pad - dilation*(kernel-1) - 1) / stride) + 1."""
    if return_indices:
        raise NotImplementedError('max_pool2d(return_indices=True) is not supported by '
                                  'minicls; use return_indices=False')
    return _pool('max_pool2d', input, kernel_size, stride, padding, dilation, ceil_mode,
                 lambda x, **geo: MaxPool2d.apply(x, dilation=to_2tuple(dilation), **geo))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over KH x KW windows of ``input`` (N, C, H, W) or (C, H, W), zero padded; see
    ``AvgPool2d`` for the divisor (``count_include_pad``, ``divisor_override``)."""
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f'avg_pool2d: divisor_override must be positive, got '
                         f'{divisor_override}')
    return _pool('avg_pool2d', input, kernel_size, stride, padding, 1, ceil_mode,
                 lambda x, **geo: AvgPool2d.apply(x, count_include_pad=count_include_pad,
                                                  divisor_override=divisor_override, **geo))


def _pool(name, x, kernel_size, stride, padding, dilation, ceil_mode, apply):
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    kernel = to_2tuple(kernel_size, 'kernel_size')
    stride = kernel if stride is None or stride == [] else to_2tuple(stride, 'stride')
    padding, dilation = to_2tuple(padding, 'padding'), to_2tuple(dilation, 'dilation')
    out_size = ()
    if x.ndim == 4:
        out_size = tuple(pool_output_size(s, k, st, p, d, ceil_mode) for s, k, st, p, d in
                         zip(x.shape[2:], kernel, stride, padding, dilation))
    check_pool_args(name, x.shape, kernel, stride, padding, dilation, out_size)
    out = apply(x, kernel=kernel, stride=stride, padding=padding, out_size=out_size)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool2d(input, output_size):
    """Average ``input`` (N, C, H, W) or (C, H, W) into ``output_size`` (int or pair; None
    keeps that axis) bins per axis; bin i covers [floor(i*H/OH), ceil((i+1)*H/OH))."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f'adaptive_avg_pool2d: expected a 3D or 4D input, got shape '
                           f'{tuple(input.shape)}')
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    size = tuple(s if o is None else int(o) for s, o in zip(input.shape[-2:], size))
    return _adaptive('adaptive_avg_pool2d', input, size)


def adaptive_avg_pool1d(input, output_size):
    """Average ``input`` (N, C, L) or (C, L) into ``output_size`` bins along L."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f'adaptive_avg_pool1d: expected a 2D or 3D input, got shape '
                           f'{tuple(input.shape)}')
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return _adaptive('adaptive_avg_pool1d', input, (int(size),))


def adaptive_avg_pool3d(input, output_size):
    """Average ``input`` (N, C, D, H, W) or (C, D, H, W) into ``output_size`` (int or triple;
    None keeps that axis) bins per axis, as adaptive_avg_pool2d."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f'adaptive_avg_pool3d: expected a 4D or 5D input, got shape '
                           f'{tuple(input.shape)}')
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    size = tuple(s if o is None else int(o) for s, o in zip(input.shape[-3:], size))
    return _adaptive('adaptive_avg_pool3d', input, size)


def _adaptive(name, x, out_size):
    if min(out_size) < 1 or min(x.shape) < 1:
        raise RuntimeError(f'{name}: output_size {out_size} must be positive and the input '
                           f'{tuple(x.shape)} non-empty')
    return AdaptiveAvgPool.apply(x, out_size=out_size)


def pad(input, pad, mode='constant', value=None):
    """Pad ``input`` with ``value`` (default 0): ``pad`` lists (before, after) widths for the
    last axes, last axis first, e.g. (left, right, top, bottom); negative widths crop."""
    if mode != 'constant':
        raise NotImplementedError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f'pad: the padding {tuple(pad)} must have an even length of at most '
                         f'2 * input.ndim = {2 * input.ndim}')
    return Pad.apply(input, pad=tuple(int(p) for p in pad), value=0.0 if value is None else value)
