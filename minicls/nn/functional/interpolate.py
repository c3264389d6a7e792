"""``F.interpolate``: resizing by nearest, (bi/tri)linear or bicubic interpolation, as PyTorch.

Each mode resizes every spatial axis separately, and along one axis resizing is *linear* in
the input: output pixel o is a weighted sum of a few input pixels i. Those weights form a
matrix R (out_size, in_size), so an image (H, W) resizes as

    y = R_h x R_w^T                    dx = R_h^T dy R_w

(one matrix per axis, applied with ``matmul``). The modes differ only in how R is filled:
where output pixel o samples the input (its source coordinate s), and which pixels around
s get which weight:

    nearest   R[o, min(floor(o * scale), in-1)] = 1
    linear    R[o, i0] = 1 - t,  R[o, i0 + 1] = t          i0 = floor(s), t = s - i0
    cubic     R[o, i0-1 .. i0+2] = Keys' cubic convolution weights of t (a = -0.75),
              indices outside [0, in-1] clamped to the border (PyTorch's choice)

with s = (o + 0.5) * scale - 0.5 (pixel centres; ``align_corners=False``, s clamped at 0 for
linear) or s = o * (in - 1) / (out - 1) (corner pixels aligned). ``scale`` is
1 / scale_factor when one is given, else in / out. A dense R costs out*in numbers per axis:
tiny next to the images it resizes (a 14x14 -> 24x24 position embedding: 24*14).
"""
import math

import numpy as np

from ... import backend
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module

# mode -> number of spatial axes it works on (None: any)
MODES = {'nearest': None, 'nearest-exact': None, 'linear': 1, 'bilinear': 2, 'bicubic': 2,
         'trilinear': 3}
CUBIC_A = -0.75


def _interp(lib, x, **kw):
    return lib.nn.functional.interpolate(x, **kw)


class Interpolate(Function):
    """y = x resized along each spatial axis a by a matrix R_a (out_a, in_a):
    y[..., o, p] = sum_{i, j} R_h[o, i] x[..., i, j] R_w[p, j] (2-D shown).
    dx = R_h^T dy R_w. Input (N, C, *in_sizes), output (N, C, *out_sizes)."""
    cases = [
        OpCase(lambda lib, x: _interp(lib, x, size=(5, 3)), [(2, 3, 3, 4)], name='nearest-size'),
        OpCase(lambda lib, x: _interp(lib, x, scale_factor=2.5), [(1, 2, 3, 2)],
               name='nearest-scale-factor'),
        OpCase(lambda lib, x: _interp(lib, x, size=7, mode='nearest-exact'), [(2, 2, 5)],
               name='nearest-exact-1d'),
        OpCase(lambda lib, x: _interp(lib, x, size=(6, 5), mode='bilinear'), [(2, 2, 4, 3)],
               name='bilinear-up'),
        OpCase(lambda lib, x: _interp(lib, x, scale_factor=(0.6, 1.5), mode='bilinear',
                                      align_corners=True), [(1, 2, 5, 4)],
               name='bilinear-align-corners-scale'),
        OpCase(lambda lib, x: _interp(lib, x, size=(7, 6), mode='bicubic', align_corners=False),
               [(2, 2, 4, 4)], name='bicubic-up'),
        OpCase(lambda lib, x: _interp(lib, x, size=(3, 5), mode='bicubic', align_corners=True),
               [(1, 3, 6, 4)], name='bicubic-align-corners-down'),
        OpCase(lambda lib, x: _interp(lib, x, scale_factor=1.7, mode='linear'), [(2, 1, 4)],
               name='linear-1d'),
        OpCase(lambda lib, x: _interp(lib, x, size=(3, 4, 2), mode='trilinear'),
               [(1, 1, 2, 3, 3)], name='trilinear'),
    ]

    @staticmethod
    def forward(ctx, x, *, matrices):
        """``matrices``: one (out, in) array per spatial axis, in x's dtype and device."""
        ctx.matrices = matrices
        return _apply(x, matrices, transpose=False)

    @staticmethod
    def backward(ctx, gy):
        return _apply(gy, ctx.matrices, transpose=True)


def _apply(x, matrices, transpose):
    """Multiply spatial axis a of x by matrices[a] (or its transpose), one axis at a time."""
    xp = get_array_module(x)
    first = x.ndim - len(matrices)
    for axis, r in enumerate(matrices, start=first):
        r = r.T if transpose else r
        x = xp.moveaxis(xp.matmul(r, xp.moveaxis(x, axis, -2)), -2, axis)
    return xp.ascontiguousarray(x)


def _matrix(mode, in_size, out_size, scale, align_corners):
    """The (out_size, in_size) float64 resize matrix R of one axis (see the module docstring).
    ``scale``: 1/scale_factor, or None (then in/out)."""
    r = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode in ('nearest', 'nearest-exact'):
        # PyTorch computes this index in float32
        step = np.float32(in_size / out_size if scale is None else scale)
        offset = np.float32(0.5 if mode == 'nearest-exact' else 0)
        src = np.floor((rows.astype(np.float32) + offset) * step).astype(np.int64)
        r[rows, np.minimum(src, in_size - 1)] = 1
        return r
    if align_corners:
        src = rows * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        step = in_size / out_size if scale is None else scale
        src = (rows + 0.5) * step - 0.5
        if mode != 'bicubic':
            src = np.maximum(src, 0)
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    if mode == 'bicubic':
        taps = [(-1, _cubic2(t + 1)), (0, _cubic1(t)), (1, _cubic1(1 - t)), (2, _cubic2(2 - t))]
    else:
        taps = [(0, 1 - t), (1, t)]
    for offset, weight in taps:
        np.add.at(r, (rows, np.clip(i0 + offset, 0, in_size - 1)), weight)
    return r


def _cubic1(x, a=CUBIC_A):
    """Keys' cubic convolution kernel for |x| <= 1: ((a + 2)|x| - (a + 3)) x^2 + 1."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x, a=CUBIC_A):
    """... and for 1 < |x| < 2: ((a|x| - 5a)|x| + 8a)|x| - 4a."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def interpolate(input, size=None, scale_factor=None, mode='nearest',  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of ``input`` (N, C, *spatial), as ``torch.nn.functional``'s.

    Args:
        input: (N, C, W), (N, C, H, W) or (N, C, D, H, W) floating Tensor.
        size (int or tuple): the output's spatial size. Give this or ``scale_factor``.
        scale_factor (float or tuple): output size = floor(input size * scale_factor); the
            source coordinates then use 1/scale_factor (unless ``recompute_scale_factor``).
        mode (str): 'nearest' (default), 'nearest-exact', 'linear' (3-D input), 'bilinear'
            or 'bicubic' (4-D), 'trilinear' (5-D). Bicubic is Keys' cubic convolution with
            a = -0.75, border pixels repeated; it can overshoot the input's range.
        align_corners (bool): linear/cubic modes only. True: the corner pixels of input and
            output coincide, s = o (in-1)/(out-1). False (default): pixel centres,
            s = (o + 0.5) scale - 0.5.
        recompute_scale_factor (bool): with ``scale_factor``, use in/out (of the rounded size)
            as the scale instead of 1/scale_factor.
        antialias (bool): only False is supported.

    Returns:
        (N, C, *out_size) Tensor.
    """
    if mode not in MODES:
        raise ValueError(f'interpolate: mode must be one of {sorted(MODES)}, got {mode!r}')
    if antialias:
        raise NotImplementedError('interpolate: antialias=True is not supported')
    spatial = input.ndim - 2
    if spatial < 1 or MODES[mode] not in (None, spatial):
        needs = {1: '3-D (N, C, W)', 2: '4-D (N, C, H, W)', 3: '5-D (N, C, D, H, W)'}
        wanted = needs.get(MODES[mode], '3-D, 4-D or 5-D (N, C, ...)')
        raise ValueError(f'interpolate: mode {mode!r} needs a {wanted} input, got shape '
                         f'{tuple(input.shape)}')
    if align_corners is not None and mode.startswith('nearest'):
        raise ValueError('interpolate: align_corners option can only be set with the '
                         'interpolating modes: linear | bilinear | bicubic | trilinear')
    if not input.is_floating_point():
        raise TypeError(f'interpolate: expected a floating point input, got {input.dtype}')
    in_sizes = tuple(input.shape[2:])
    out_sizes, scales = _output_sizes(in_sizes, size, scale_factor, recompute_scale_factor)
    matrices = [backend.to_device(_matrix(mode, i, o, s, bool(align_corners)).astype(
                input.dtype), input.device) for i, o, s in zip(in_sizes, out_sizes, scales)]
    return Interpolate.apply(input, matrices=matrices)


def _output_sizes(in_sizes, size, scale_factor, recompute):
    """(out sizes, scales): scales are 1/scale_factor per axis, or None (use in/out)."""
    n = len(in_sizes)
    if (size is None) == (scale_factor is None):
        raise ValueError('interpolate: give exactly one of size and scale_factor')
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * n
        if len(sizes) != n or any(int(s) < 1 for s in sizes):
            raise ValueError(f'interpolate: size must be a positive int or {n} of them (one per '
                             f'spatial axis), got {size!r}')
        return tuple(int(s) for s in sizes), (None,) * n
    factors = (tuple(scale_factor) if isinstance(scale_factor, (tuple, list))
               else (scale_factor,) * n)
    if len(factors) != n or any(f <= 0 for f in factors):
        raise ValueError(f'interpolate: scale_factor must be a positive number or {n} of them '
                         f'(one per spatial axis), got {scale_factor!r}')
    sizes = tuple(math.floor(i * f) for i, f in zip(in_sizes, factors))
    if min(sizes) < 1:
        raise ValueError(f'interpolate: scale_factor {scale_factor!r} makes an empty output '
                         f'from input size {in_sizes}')
    scales = (None,) * n if recompute else tuple(1 / f for f in factors)
    return sizes, scales
