"""Activations and the softmax family (also used by ``minicls.nn``)."""
import math

import numpy as np

from ...backend import get_array_module
from ...parallel import parallel_for, split
from ..function import Function
from ..opspec import OpCase


class ReLU(Function):
    """y = max(x, 0).   dy/dx = 1 where x > 0, else 0.

    As PyTorch: NaN stays NaN and -inf gives 0 (x * (x > 0) would give NaN); -0.0 gives +0.0
    (PyTorch keeps the sign of a zero). Saves y (y > 0 exactly where x > 0).

    Fast path: float32 NumPy arrays (``_relu_blocks``: cache-sized blocks, on every core from
    ``RELU_PARALLEL_SIZE`` elements). Plain reference: ``relu_simple``, ``relu_backward_simple``.
    """
    cases = [OpCase(lambda lib, x: lib.relu(x), [(4, 5)]),
             OpCase(lambda lib, x: lib.nn.functional.relu(x), [(2, 3, 4, 4)], name='nchw')]

    @staticmethod
    def forward(ctx, x):
        y = _relu_blocks(x) if _relu_fast(x) else relu_simple(x)
        if ctx.needs_input_grad:
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return _relu_blocks(y, gy) if _relu_fast(y, gy) else relu_backward_simple(y, gy)


RELU_PARALLEL_SIZE = 1 << 21   # elements: below, the thread pool costs more than it saves


def relu_simple(x):
    """max(x, 0): the reference for ``_relu_blocks``."""
    return get_array_module(x).maximum(x, 0)


def relu_backward_simple(y, gy):
    """dL/dx = dL/dy except where y = relu(x) <= 0, there 0 (dL/dy times 1 or 0). A NaN input
    gives y = NaN, which is not <= 0: its dL/dy passes, as in PyTorch."""
    return gy * ~(y <= 0)


def _relu_fast(*arrays):
    return all(type(a) is np.ndarray and a.dtype == np.float32 for a in arrays)


def _relu_blocks(x, gy=None):
    """``relu_simple(x)``, or ``relu_backward_simple(x, gy)`` when given ``gy``, for float32
    NumPy arrays, fast and with the same bits: block by block, the blocks of a large array
    shared among the CPU cores (one NumPy pass runs on one core only; NumPy releases the GIL
    inside it). The mask lives in a small buffer that stays in the cache, and the forward
    compares with a block of zeros (NumPy's maximum is about twice as fast against an array
    as against a scalar)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    grad = None if gy is None else np.ascontiguousarray(gy).reshape(-1)
    out = np.empty_like(flat)
    size = min(_BLOCK, flat.size)

    def run(part):
        zeros, mask = np.zeros(size, np.float32), np.empty(size, bool)
        stop = min(part.stop, flat.size)
        for start in range(part.start, stop, _BLOCK):
            block = slice(start, min(start + _BLOCK, stop))
            n = block.stop - block.start
            if grad is None:
                np.maximum(flat[block], zeros[:n], out=out[block])
            else:
                np.less_equal(flat[block], 0, out=mask[:n])
                np.logical_not(mask[:n], out=mask[:n])        # not (y <= 0): NaN passes
                np.multiply(grad[block], mask[:n], out=out[block])

    parallel_for(run, split(flat.size) if flat.size >= RELU_PARALLEL_SIZE
                 else [slice(0, flat.size)])
    return out.reshape(x.shape)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows.
    dy/dx = y (1 - y)."""
    cases = [OpCase(lambda lib, x: lib.sigmoid(x), [(4, 5)], domain=(-6, 6)),
             OpCase(lambda lib, x: lib.nn.functional.silu(x), [(4, 5)], domain=(-6, 6),
                    name='silu')]

    @staticmethod
    def forward(ctx, x):
        y = 0.5 * (1 + get_array_module(x).tanh(0.5 * x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh x.   dy/dx = 1 - y^2."""
    cases = [OpCase(lambda lib, x: lib.tanh(x), [(4, 5)])]

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * (1 - y * y)


class GELU(Function):
    """y = x Phi(x), Phi the standard normal CDF ('none'), or its tanh approximation ('tanh').

    exact: dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
    tanh:  y = x/2 (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3).

    The forward computes the slope dy/dx too and saves it (instead of x, so no more memory):
    the exact slope reuses the forward's exp(-x^2/2), and the backward is one multiply.
    Fast path: float32 NumPy arrays (``_gelu_blocks``: cache-sized blocks on every core).
    Plain reference: ``gelu_simple``.
    """
    cases = [OpCase(lambda lib, x: lib.nn.functional.gelu(x), [(4, 5)], domain=(-3, 3)),
             OpCase(lambda lib, x: lib.nn.functional.gelu(x, approximate='tanh'), [(7,)],
                    domain=(-3, 3), name='tanh')]

    @staticmethod
    def forward(ctx, x, approximate='none'):
        xp = get_array_module(x)
        need_slope = bool(ctx.needs_input_grad)
        if approximate == 'none' and xp is np and x.dtype == np.float32:
            y, slope = _gelu_blocks(x, need_slope)
        else:
            y, slope = gelu_simple(x, xp, approximate, need_slope)
        if ctx.needs_input_grad:
            ctx.save_for_backward(slope)
        return y

    @staticmethod
    def backward(ctx, gy):
        slope, = ctx.saved_tensors
        return gy * slope


def gelu_simple(x, xp, approximate='none', need_slope=True):
    """(y, dy/dx) of GELU, written as the formulas (dy/dx None unless ``need_slope``): the
    reference for ``_gelu_blocks``."""
    if approximate == 'tanh':
        c = math.sqrt(2 / math.pi)
        t = xp.tanh(c * (x + 0.044715 * x ** 3))
        y = 0.5 * x * (1 + t)
        if not need_slope:
            return y, None
        return y, 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    cdf = _normal_cdf(x, xp)
    if not need_slope:
        return x * cdf, None
    pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return x * cdf, cdf + x * pdf


# Abramowitz & Stegun 7.1.26: erfc(z) ~ t (a1 + t (a2 + ... + t a5)) exp(-z^2), t = 1/(1 + p z)
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_BLOCK = 1 << 15   # elements: the four 128 KiB work buffers of a block stay in the L2 cache


def _gelu_blocks(x, need_slope):
    """``gelu_simple`` for a float32 NumPy array, fast. A formula such as ``x * Phi(x)`` makes
    one full-size temporary array per operation (about twenty here), each written to and read
    back from main memory. Here every operation works in place on small buffers, block by
    block, so the data stays in the cache; and the blocks are shared among the CPU cores
    (NumPy releases the GIL inside each operation). Same formulas, same float32 rounding up
    to a few ulps."""
    flat = np.ascontiguousarray(x).reshape(-1)
    y = np.empty_like(flat)
    slope = np.empty_like(flat) if need_slope else None

    def run(part):
        z, t, q, e = (np.empty(_BLOCK, np.float32) for _ in range(4))
        stop = min(part.stop, flat.size)
        for start in range(part.start, stop, _BLOCK):
            block = slice(start, min(start + _BLOCK, stop))
            n = block.stop - block.start
            xs, z_, t_, q_, e_ = flat[block], z[:n], t[:n], q[:n], e[:n]
            np.abs(xs, out=z_)
            z_ *= 1 / math.sqrt(2)                      # z = |x| / sqrt 2
            np.multiply(z_, _AS_P, out=t_)
            t_ += 1
            np.reciprocal(t_, out=t_)                   # t = 1 / (1 + p z)
            np.multiply(t_, _AS_A[4], out=q_)           # Horner: q = t (a1 + t (a2 + ...))
            for a in reversed(_AS_A[:4]):
                q_ += a
                q_ *= t_
            np.square(z_, out=e_)
            np.negative(e_, out=e_)
            np.exp(e_, out=e_)                          # e = exp(-z^2) = exp(-x^2 / 2)
            q_ *= e_                                    # q = erfc(|z|)
            q_ *= -0.5
            q_ += 0.5
            np.copysign(q_, xs, out=q_)
            q_ += 0.5                                   # q = Phi(x) = 1/2 + sign(x) erf(|z|)/2
            np.multiply(xs, q_, out=y[block])
            if slope is not None:                       # Phi(x) + x exp(-x^2/2) / sqrt(2 pi)
                e_ *= xs
                e_ *= 1 / math.sqrt(2 * math.pi)
                np.add(q_, e_, out=slope[block])

    parallel_for(run, split(flat.size))
    return y.reshape(x.shape), None if slope is None else slope.reshape(x.shape)


def _normal_cdf(x, xp):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 (NumPy has no erf and SciPy is not a dependency).

    float32 and below: erf from Abramowitz & Stegun 7.1.26 (max error 1.5e-7, float32's own
    rounding). float64: ``_erf64`` (error < 1e-13), so float64 checks can be strict.
    """
    z = x / math.sqrt(2)
    if x.dtype == xp.float64:
        return 0.5 * (1 + _erf64(z, xp))
    z = abs(z)
    t = 1 / (1 + _AS_P * z)
    poly = t * (_AS_A[0] + t * (_AS_A[1] + t * (_AS_A[2] + t * (_AS_A[3] + t * _AS_A[4]))))
    erf = 1 - poly * xp.exp(-z * z)
    return 0.5 * (1 + xp.sign(x) * erf)


def _erf64(x, xp):
    """erf(x) in float64: the Taylor series ``2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))``
    for |x| < 3 (49 terms), else ``1 - erfc`` with erfc's continued fraction
    ``exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))`` (60 levels)."""
    a = xp.abs(x)
    small = a < 3
    z = xp.where(small, a, 0.0)
    term, total = z, z
    for n in range(1, 50):
        term = term * (-z * z / n)
        total = total + term / (2 * n + 1)
    y = xp.where(small, 3.0, xp.minimum(a, 30.0))
    fraction = xp.zeros_like(y)
    for k in range(60, 0, -1):
        fraction = (k / 2) / (y + fraction)
    tail = 1 - xp.exp(-y * y) / math.sqrt(math.pi) / (y + fraction)
    return xp.sign(x) * xp.where(small, total * (2 / math.sqrt(math.pi)), tail)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) along ``dim`` (m = max, for stability).
    dx = y * (dy - sum(dy * y))."""
    cases = [OpCase(lambda lib, x: x.softmax(1), [(3, 5)]),
             OpCase(lambda lib, x: lib.softmax(x, dim=0), [(4, 2, 3)], name='dim0')]

    @staticmethod
    def forward(ctx, x, dim):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return y * (gy - (gy * y).sum(axis=ctx.dim, keepdims=True))


class LogSoftmax(Function):
    """y = x - m - log sum_j e^(x_j - m) along ``dim``.   dx = dy - softmax(x) * sum(dy)."""
    cases = [OpCase(lambda lib, x: x.log_softmax(1), [(3, 5)], domain=(-5, 5)),
             OpCase(lambda lib, x: lib.log_softmax(x, dim=-1), [(2, 3, 4)], name='last-dim')]

    @staticmethod
    def forward(ctx, x, dim):
        xp = get_array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        xp = get_array_module(y)
        return gy - xp.exp(y) * gy.sum(axis=ctx.dim, keepdims=True)
