"""Element-wise functions of one tensor: abs, exp, log, sqrt, clamp, sign."""
from ...backend import get_array_module
from ..function import Function
from ..opspec import OpCase


class Abs(Function):
    """y = |x|.   dy/dx = sign(x) (0 at 0, as PyTorch)."""
    cases = [OpCase(lambda lib, x: x.abs(), [(3, 4)]),
             OpCase(lambda lib, x: abs(x), [(4,)], name='builtin-abs'),
             OpCase(lambda lib, x: x.norm(p=1, dim=1), [(3, 4)], name='norm-p1')]

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return abs(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * get_array_module(x).sign(x)


class Exp(Function):
    """y = e^x.   dy/dx = y."""
    cases = [OpCase(lambda lib, x: lib.exp(x), [(3, 4)])]

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy * y


class Log(Function):
    """y = ln x.   dy/dx = 1 / x."""
    cases = [OpCase(lambda lib, x: x.log(), [(3, 4)], domain=(0.2, 3)),
             OpCase(lambda lib, x: x.logsumexp(1), [(3, 4)], name='logsumexp'),
             OpCase(lambda lib, x: lib.logsumexp(x * 50, (0, 2), keepdim=True), [(2, 3, 2)],
                    name='logsumexp-big-tuple-dim')]

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy / x


class Sqrt(Function):
    """y = sqrt(x).   dy/dx = 1 / (2 y)."""
    cases = [OpCase(lambda lib, x: lib.sqrt(x), [(3, 4)], domain=(0.2, 3)),
             OpCase(lambda lib, x: x.norm(), [(3, 4)], name='norm'),
             OpCase(lambda lib, x: lib.norm(x, dim=1, keepdim=True), [(3, 4)], name='norm-dim'),
             OpCase(lambda lib, x: lib.std(x, 1), [(3, 4)], name='std')]

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return gy / (2 * y)


class Clamp(Function):
    """y = min(max(x, min), max).   dy/dx = 1 where min <= x <= max, else 0."""
    cases = [OpCase(lambda lib, x: x.clamp(-0.5, 0.7), [(4, 5)]),
             OpCase(lambda lib, x: lib.clamp(x, min=0.1), [(6,)], name='min-only'),
             OpCase(lambda lib, x: lib.nn.functional.relu6(x), [(4, 5)], domain=(-3, 9),
                    name='relu6'),
             OpCase(lambda lib, x: lib.nn.functional.hardsigmoid(x), [(4, 5)], domain=(-5, 5),
                    name='hardsigmoid'),
             OpCase(lambda lib, x: lib.nn.functional.hardswish(x), [(4, 5)], domain=(-5, 5),
                    name='hardswish')]

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        inside = x == x
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        ctx.save_for_backward(inside)
        return get_array_module(x).clip(x, min, max)

    @staticmethod
    def backward(ctx, gy):
        inside, = ctx.saved_tensors
        return gy * inside


class Sign(Function):
    """y = sign(x): -1, 0 or 1.   dy/dx = 0 (a step function is flat almost everywhere)."""
    cases = [OpCase(lambda lib, x: x.sign() * x, [(3, 4)])]

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).sign(x)

    @staticmethod
    def backward(ctx, gy):
        return gy * 0
