"""Ops that put elements in new places: flip (reverse axes) and scatter (write at indices)."""
from ...backend import get_array_module
from ..function import Function
from ..opspec import OpCase


def index_grid(index, dim, xp):
    """The full index tuple that addresses, for every element of ``index``, the position
    ``[i_0, ..., index[i], ..., i_n]``: its own coordinates, with ``dim`` taken from ``index``
    (the positions ``gather`` reads and ``scatter`` writes)."""
    grid = [xp.arange(n).reshape([-1 if a == i else 1 for a in range(index.ndim)])
            for i, n in enumerate(index.shape)]
    grid[dim] = index
    return tuple(grid)


class Flip(Function):
    """y = x with the order of its elements reversed along each axis in ``dims``
    (``torch.flip``), shape unchanged.   dx = dy flipped back along the same axes."""
    cases = [OpCase(lambda lib, x: x.flip(1), [(2, 3, 4)]),
             OpCase(lambda lib, x: lib.flip(x, [0, -1]), [(3, 4)], name='two-dims')]

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return get_array_module(x).flip(x, axis=dims)

    @staticmethod
    def backward(ctx, gy):
        return get_array_module(gy).flip(gy, axis=ctx.dims)


class Scatter(Function):
    """y = x, then y[..., index[i], ...] = src[i] along ``dim`` (``torch.scatter``): for a
    3-D ``index`` and dim 1, ``y[i][index[i][j][k]][k] = src[i][j][k]``.

    Shapes: ``index`` has x's number of dims; only the leading ``index.shape`` block of ``src``
    is used. When an index repeats, one of the writes wins (which one is not specified,
    as in PyTorch).
        dx   = dy with the written positions set to 0 (their old value is gone);
        dsrc = dy read back at the written positions (``gather``), 0 for unused elements.
    """
    cases = [OpCase(lambda lib, x, s: x.scatter(1, lib.tensor([[2, 0], [1, 3], [0, 1]]), s),
                    [(3, 4), (3, 2)]),
             OpCase(lambda lib, x, s: lib.scatter(x, 0, lib.tensor([[1, 0, 2]]), s),
                    [(3, 3), (1, 3)], name='dim0'),
             # a src larger than index: PyTorch has no gradient for it (it raises), so only x
             OpCase(lambda lib, x, s: lib.scatter(x, 0, lib.tensor([[1, 0, 2]]), s),
                    [(3, 3), (2, 4)], grad=(0,), name='bigger-src'),
             OpCase(lambda lib, x: x.scatter(-1, lib.tensor([[0], [2]]), 0.5), [(2, 3)],
                    name='value')]

    @staticmethod
    def forward(ctx, x, src, dim, index):
        xp = get_array_module(x)
        ctx.grid = index_grid(index, dim, xp)
        ctx.used = tuple(slice(0, n) for n in index.shape)
        ctx.src_shape = src.shape
        y = x.copy()
        y[ctx.grid] = src[ctx.used]
        return y

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = gy.copy()
            gx[ctx.grid] = 0
        if ctx.needs_input_grad[1]:
            gsrc = xp.zeros(ctx.src_shape, dtype=gy.dtype)
            gsrc[ctx.used] = gy[ctx.grid]
        return gx, gsrc
