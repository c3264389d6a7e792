"""Reductions: sum, mean, var, max/min. ``dim`` may be None (all), an int or a tuple.

Each backward first restores the reduced axes (``keepdims`` shape) and then broadcasts the
gradient back over them: every input element that fed an output gets that output's gradient.
"""
from ...backend import get_array_module
from ..function import Function
from ..opspec import OpCase


def _axes(dim, ndim):
    """``dim`` (None, int or tuple, negatives allowed) as a tuple of positive axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim if ndim else 0 for d in dims)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _expand_back(gy, shape, axes, keepdim):
    """Broadcast gy (reduced over ``axes``) back to the input ``shape``."""
    xp = get_array_module(gy)
    if not keepdim:
        gy = gy.reshape([1 if i in axes else s for i, s in enumerate(shape)])
    return xp.broadcast_to(gy, shape)


class Sum(Function):
    """y = sum of x over ``dim``.   dx = dy broadcast back over the summed axes."""
    cases = [OpCase(lambda lib, x: x.sum(), [(3, 4)], name='all'),
             OpCase(lambda lib, x: x.sum(1, keepdim=True), [(3, 4, 2)], name='keepdim'),
             OpCase(lambda lib, x: lib.sum(x, dim=(0, 2)), [(3, 4, 2)], name='tuple-dim'),
             OpCase(lambda lib, x: x.sum(), [()], name='0d')]

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, _axes(dim, x.ndim), keepdim
        return x.sum(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy, ctx.shape, ctx.axes, ctx.keepdim)


class Mean(Function):
    """y = mean of x over ``dim``.   dx = dy / n broadcast back (n = elements averaged)."""
    cases = [OpCase(lambda lib, x: x.mean(), [(3, 4)], name='all'),
             OpCase(lambda lib, x: x.mean(-1, keepdim=True), [(2, 3, 4)], name='keepdim'),
             OpCase(lambda lib, x: lib.mean(x, dim=(0, 2)), [(2, 3, 4)], name='tuple-dim')]

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, _axes(dim, x.ndim), keepdim
        return x.mean(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, gy):
        n = _count(ctx.shape, ctx.axes)
        return _expand_back(gy / n, ctx.shape, ctx.axes, ctx.keepdim)


class Var(Function):
    """y = sum((x - mean)^2) / (n - correction) over ``dim`` (correction 1 = unbiased).
    dx = dy * 2 (x - mean) / (n - correction)."""
    cases = [OpCase(lambda lib, x: x.var(), [(3, 4)], name='all-unbiased'),
             OpCase(lambda lib, x: x.var(1, unbiased=False, keepdim=True), [(3, 5)],
                    name='biased-keepdim')]

    @staticmethod
    def forward(ctx, x, dim=None, correction=1, keepdim=False):
        axes = _axes(dim, x.ndim)
        centered = x - x.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.denom = max(_count(x.shape, axes) - correction, 0)
        return (centered * centered).sum(axis=axes, keepdims=keepdim) / ctx.denom

    @staticmethod
    def backward(ctx, gy):
        centered, = ctx.saved_tensors
        gy = _expand_back(gy, centered.shape, ctx.axes, ctx.keepdim)
        return gy * centered * (2 / ctx.denom)


class Max(Function):
    """y = max of x (over ``dim``, or of all elements); ``mode='min'`` for the minimum.
    The gradient goes to the element that was picked (the first one on ties, as argmax)."""
    cases = [OpCase(lambda lib, x: x.max(), [(3, 4)], name='all'),
             OpCase(lambda lib, x: x.max(1)[0], [(3, 4)], name='dim'),
             OpCase(lambda lib, x: lib.min(x, dim=0, keepdim=True)[0], [(3, 4)], name='min'),
             OpCase(lambda lib, x: x.amax(dim=(1, 2)), [(2, 3, 4)], name='amax-tuple')]

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, mode='max'):
        xp = get_array_module(x)
        arg = xp.argmax if mode == 'max' else xp.argmin
        axes = _axes(dim, x.ndim)
        # Move the reduced axes last and flatten them, so one argmax finds the winner.
        rest = [a for a in range(x.ndim) if a not in axes]
        flat = x.transpose(rest + list(axes)).reshape([x.shape[a] for a in rest] + [-1])
        index = arg(flat, axis=-1)[..., None]
        ctx.save_for_backward(index)
        ctx.shape, ctx.rest, ctx.axes, ctx.keepdim = x.shape, rest, axes, keepdim
        y = xp.take_along_axis(flat, index, axis=-1)[..., 0]
        return y.reshape([1 if i in axes else s for i, s in enumerate(x.shape)]) if keepdim else y

    @staticmethod
    def backward(ctx, gy):
        index, = ctx.saved_tensors
        xp = get_array_module(index)
        rest_shape = [ctx.shape[a] for a in ctx.rest]
        n = _count(ctx.shape, ctx.axes)
        one_hot = xp.arange(n) == index                   # (*rest, n)
        g = one_hot * gy.reshape(rest_shape + [1])
        g = g.reshape(rest_shape + [ctx.shape[a] for a in ctx.axes])
        order = ctx.rest + list(ctx.axes)                 # undo the transpose of forward
        inverse = [order.index(i) for i in range(len(order))]
        return g.transpose(inverse)
