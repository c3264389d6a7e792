"""Ops that move or select elements without arithmetic: reshape, permute, expand,
indexing, gather, cat, where, and changing dtype or device."""
import itertools

from ... import backend
from ...backend import get_array_module
from ..function import Function
from ..opspec import OpCase


class Reshape(Function):
    """y = x viewed with a new shape (same elements, same order).   dx = dy reshaped back."""
    cases = [OpCase(lambda lib, x: x.reshape(4, 3), [(3, 4)]),
             OpCase(lambda lib, x: x.view(-1), [(2, 3, 2)], name='view'),
             OpCase(lambda lib, x: x.flatten(1), [(2, 3, 2)], name='flatten'),
             OpCase(lambda lib, x: x.unsqueeze(0).squeeze(), [(3, 1, 2)], name='squeeze')]

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


class Permute(Function):
    """y = x with its axes reordered by ``dims``.   dx = dy with the inverse order."""
    cases = [OpCase(lambda lib, x: x.permute(2, 0, 1), [(2, 3, 4)]),
             OpCase(lambda lib, x: x.transpose(0, 1), [(3, 5)], name='transpose'),
             OpCase(lambda lib, x: x.T, [(3, 5)], name='T'),
             OpCase(lambda lib, x: x.t(), [(3, 5)], name='t')]

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, gy):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return gy.transpose(inverse)


class Expand(Function):
    """y = x broadcast to ``shape`` (a view).   dx = dy summed over the broadcast axes,
    which the engine does for every op, so backward just hands dy back."""
    cases = [OpCase(lambda lib, x: x.expand(2, 3, 4), [(3, 1)]),
             OpCase(lambda lib, x: x.repeat(2, 1, 3), [(3, 2)], name='repeat')]

    @staticmethod
    def forward(ctx, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, gy):
        return gy


class GetItem(Function):
    """y = x[index] (slices, ints, None, ..., integer arrays, boolean masks).

    dx = zeros like x with dy written back at ``index``. Integer arrays may repeat an element
    (``x[[0, 0]]``), so then the gradients are added (``add.at``) rather than assigned.
    """
    cases = [OpCase(lambda lib, x: x[1:, ::2], [(3, 5)], name='slices'),
             OpCase(lambda lib, x: x[:, 1], [(3, 5)], name='int'),
             OpCase(lambda lib, x: x[lib.tensor([0, 2, 0])], [(3, 4)], name='repeated-ints'),
             OpCase(lambda lib, x: x[x > 0], [(4, 3)], name='bool-mask'),
             OpCase(lambda lib, x: x[..., None, -1], [(2, 3)], name='ellipsis-none'),
             OpCase(lambda lib, x: x.chunk(2, 1)[1], [(3, 5)], name='chunk'),
             OpCase(lambda lib, x: lib.split(x, [1, 2], 0)[1], [(3, 2)], name='split'),
             OpCase(lambda lib, x: x.unbind(1)[2], [(2, 3)], name='unbind'),
             OpCase(lambda lib, x: list(x)[1], [(2, 3)], name='iter'),
             OpCase(lambda lib, x: x.index_select(1, lib.tensor([3, 0, 3])), [(2, 4)],
                    name='index_select')]

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(ctx.shape, dtype=gy.dtype)
        index = ctx.index if isinstance(ctx.index, tuple) else (ctx.index,)
        if any(isinstance(i, xp.ndarray) and i.dtype.kind in 'iu' for i in index):
            xp.add.at(gx, ctx.index, gy)
        else:
            gx[ctx.index] = gy
        return gx


class Gather(Function):
    """y[..., i, ...] = x[..., index[..., i, ...], ...] along ``dim`` (``torch.gather``).
    dx: dy added back at the gathered positions."""
    cases = [OpCase(lambda lib, x: x.gather(1, lib.tensor([[0, 2], [1, 1], [3, 0]])), [(3, 4)]),
             OpCase(lambda lib, x: x.sort(1, descending=True)[0], [(3, 4)], name='sort'),
             OpCase(lambda lib, x: lib.sort(x, 0)[0], [(3, 2)], name='sort-dim0')]

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim % x.ndim, index
        return get_array_module(x).take_along_axis(x, index, axis=ctx.dim)

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(ctx.shape, dtype=gy.dtype)
        grid = [xp.arange(n).reshape([-1 if a == i else 1 for a in range(gy.ndim)])
                for i, n in enumerate(ctx.index.shape)]
        grid[ctx.dim] = ctx.index
        xp.add.at(gx, tuple(grid), gy)
        return gx


class Cat(Function):
    """y = the inputs joined along ``dim``.   dx_k = the slice of dy that came from x_k."""
    cases = [OpCase(lambda lib, x, y: lib.cat([x, y], dim=1), [(2, 3), (2, 1)]),
             OpCase(lambda lib, x, y: lib.stack([x, y]), [(2, 3), (2, 3)], name='stack'),
             OpCase(lambda lib, x: x.roll(2, 1), [(2, 5)], name='roll'),
             OpCase(lambda lib, x: lib.roll(x, (1, -1), (0, 1)), [(3, 4)], name='roll-two-dims'),
             OpCase(lambda lib, x: x.roll(1), [(2, 3)], name='roll-flat')]

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        ctx.sizes = [x.shape[dim] for x in xs]
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, gy):
        bounds = list(itertools.accumulate(ctx.sizes))[:-1]
        return tuple(get_array_module(gy).split(gy, bounds, axis=ctx.dim))


class Where(Function):
    """y = x where cond else z.   dx = dy where cond, dz = dy elsewhere."""
    cases = [OpCase(lambda lib, x, z: lib.where(x > 0, x, z), [(3, 4), (4,)]),
             OpCase(lambda lib, x: x.masked_fill(x > 0.5, -1.0), [(3, 4)], name='masked_fill'),
             OpCase(lambda lib, x, v: x.masked_fill(x > 0.5, v), [(3, 4), ()],
                    name='masked_fill-tensor-value'),
             OpCase(lambda lib, x, z: x.where(x > 0, z), [(3, 4), (3, 4)], name='method'),
             OpCase(lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2), [(3, 4)],
                    name='leaky_relu')]

    @staticmethod
    def forward(ctx, cond, x, z):
        ctx.save_for_backward(cond)
        return get_array_module(x).where(cond, x, z)

    @staticmethod
    def backward(ctx, gy):
        cond, = ctx.saved_tensors
        return None, gy * cond, gy * ~cond


class Cast(Function):
    """y = x converted to ``dtype``. dx = dy (the engine casts it back to x's dtype)."""
    cases = [OpCase(lambda lib, x: x.float().double() * 2, [(3,)], eps=1e-2)]

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, gy):
        return gy


class ToDevice(Function):
    """y = x copied to ``device``.   dx = dy copied back to x's device."""
    cases = []
    tested_in = 'tests/test_backend.py (needs a second device: run on the CuPy stand-in)'

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, gy):
        return backend.to_device(gy, ctx.source)
