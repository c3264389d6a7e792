"""``OpCase``: the small test spec every op declares next to its code.

Each ``Function`` subclass lists ``cases``. One generic suite (``tests/test_autograd/test_ops.py``) runs, for
every case of every op: a float64 finite-difference gradient check, and forward + backward
parity with PyTorch. ``fn`` is written once for both libraries, because minicls keeps PyTorch's
names: it receives the library (``minicls`` or ``torch``) and the input tensors::

    OpCase(lambda lib, x, y: x * y, shapes=[(2, 3), (3,)])
    OpCase(lambda lib, x: lib.nn.functional.relu(x), shapes=[(4, 5)], domain=(-1, 1))

The suite fails when an op has no case, or when no case of an op actually runs that op.
An op that cannot be run by a generic case (it needs two devices) says where it is tested
instead, in ``tested_in``.
"""


class OpCase:
    """One way to exercise an op.

    Args:
        fn: ``fn(lib, *tensors) -> tensor`` using only names minicls shares with PyTorch.
        shapes: the shape of each random input tensor.
        domain: ``(low, high)`` of the uniform random input values (one pair, or one per input).
        grad: which inputs get a gradient check (default: all).
        atol, rtol: parity tolerances in float32 (the gradient check uses float64).
        eps: the finite-difference step of the gradient check.
        name: shown in the test id.
    """

    def __init__(self, fn, shapes, domain=(-2.0, 2.0), grad=None, atol=1e-5, rtol=1e-4,
                 eps=1e-6, name=''):
        self.fn = fn
        self.shapes = [tuple(s) for s in shapes]
        self.domains = domain if isinstance(domain[0], (tuple, list)) else [domain] * len(shapes)
        self.grad = tuple(range(len(shapes))) if grad is None else tuple(grad)
        self.atol = atol
        self.rtol = rtol
        self.eps = eps
        self.name = name or 'x'.join('-'.join(map(str, s)) or 'scalar' for s in self.shapes)

    def __repr__(self):
        return f'OpCase({self.name})'
