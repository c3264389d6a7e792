"""Arithmetic: + - * / ** @ and negation.

Broadcasting needs no code here: each backward returns the gradient in the broadcast shape
of the output and the engine sums it back to each input's shape (``function.sum_to``).
"""
from ...backend import get_array_module
from ...parallel import matmul
from ..function import Function
from ..opspec import OpCase


class Add(Function):
    """z = x + y.   dz/dx = 1, dz/dy = 1."""
    cases = [OpCase(lambda lib, x, y: x + y, [(3, 4), (4,)], name='broadcast-right'),
             OpCase(lambda lib, x, y: x + y, [(1, 4), (3, 1)], name='broadcast-both'),
             OpCase(lambda lib, x: 2.5 + x, [(3,)], name='scalar-left'),
             OpCase(lambda lib, x, y: x + y, [(), (2, 3)], name='0d-plus-matrix')]

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, gz):
        return gz, gz


class Sub(Function):
    """z = x - y.   dz/dx = 1, dz/dy = -1."""
    cases = [OpCase(lambda lib, x, y: x - y, [(2, 3), (2, 1)]),
             OpCase(lambda lib, x: 1.0 - x, [(5,)], name='scalar-left')]

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, gz):
        return gz, -gz


class Mul(Function):
    """z = x * y.   dz/dx = y, dz/dy = x."""
    cases = [OpCase(lambda lib, x, y: x * y, [(2, 3), (3,)]),
             OpCase(lambda lib, x: x * x, [(4,)], name='reused-input'),
             OpCase(lambda lib, x: 3.0 * x, [(1,)], name='scalar-left-batch1'),
             OpCase(lambda lib, x: lib.square(x), [(3,)], name='square')]

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, gz):
        x, y = ctx.saved_tensors
        gx = gz * y if ctx.needs_input_grad[0] else None
        gy = gz * x if ctx.needs_input_grad[1] else None
        return gx, gy


class Div(Function):
    """z = x / y.   dz/dx = 1 / y, dz/dy = -x / y^2 = -z / y."""
    cases = [OpCase(lambda lib, x, y: x / y, [(2, 3), (2, 3)], domain=[(-2, 2), (0.5, 2)]),
             OpCase(lambda lib, x: 2.0 / x, [(4,)], domain=(0.5, 2), name='scalar-left'),
             OpCase(lambda lib, x: lib.nn.functional.normalize(x, dim=1), [(3, 4)],
                    name='normalize'),
             OpCase(lambda lib, x: lib.nn.functional.normalize(x, p=1.0, dim=-1), [(2, 3, 4)],
                    name='normalize-p1')]

    @staticmethod
    def forward(ctx, x, y):
        z = x / y
        ctx.save_for_backward(y, z)
        return z

    @staticmethod
    def backward(ctx, gz):
        y, z = ctx.saved_tensors
        gx = gz / y
        return gx, -gx * z


class Neg(Function):
    """z = -x."""
    cases = [OpCase(lambda lib, x: -x, [(3, 2)])]

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, gz):
        return -gz


class Pow(Function):
    """z = x ** y.   dz/dx = y x^(y-1), dz/dy = z log x (only computed when y needs it)."""
    cases = [OpCase(lambda lib, x: x ** 2, [(3, 4)], name='square'),
             OpCase(lambda lib, x: x ** 0.5, [(5,)], domain=(0.5, 2), name='sqrt'),
             OpCase(lambda lib, x, y: x ** y, [(2, 3), (3,)], domain=[(0.5, 2), (-1, 1)],
                    name='tensor-exponent'),
             OpCase(lambda lib, x: 2.0 ** x, [(4,)], name='scalar-base'),
             OpCase(lambda lib, x: x.norm(p=3, dim=0), [(3, 4)], domain=(0.5, 2), name='norm-p3')]

    @staticmethod
    def forward(ctx, x, y):
        z = x ** y
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx, gz):
        x, y, z = ctx.saved_tensors
        gx = gz * y * x ** (y - 1) if ctx.needs_input_grad[0] else None
        gy = gz * z * _log(x) if ctx.needs_input_grad[1] else None
        return gx, gy


def _log(x):
    return get_array_module(x).log(x)


class MatMul(Function):
    """z = x @ y for x (..., n, k), y (..., k, m): the batch dims broadcast.

    dz/dx = gz @ y^T  (..., n, k),   dz/dy = x^T @ gz  (..., k, m).
    (1-D operands are made 2-D by the ``matmul`` wrapper, as PyTorch does.)
    """
    cases = [OpCase(lambda lib, x, y: x @ y, [(3, 4), (4, 5)]),
             OpCase(lambda lib, x, y: x @ y, [(2, 3, 4), (4, 2)], name='batched-broadcast'),
             OpCase(lambda lib, x, y: lib.matmul(x, y), [(4,), (4, 3)], name='vector-matrix'),
             OpCase(lambda lib, x, y: x @ y, [(3, 4), (4,)], name='matrix-vector'),
             OpCase(lambda lib, x, y: lib.bmm(x, y), [(2, 3, 4), (2, 4, 2)], name='bmm')]

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return matmul(x, y)                 # blocks on the threads (minicls.parallel)

    @staticmethod
    def backward(ctx, gz):
        x, y = ctx.saved_tensors
        gx = matmul(gz, y.swapaxes(-1, -2)) if ctx.needs_input_grad[0] else None
        gy = matmul(x.swapaxes(-1, -2), gz) if ctx.needs_input_grad[1] else None
        return gx, gy
