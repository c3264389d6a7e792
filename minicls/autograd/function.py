"""``Function``: the unit every op is built from, and the graph node it leaves behind.

An op is a subclass with two static methods side by side, both on raw arrays::

    class Mul(Function):
        @staticmethod
        def forward(ctx, x, y):              # arrays in, array out
            ctx.save_for_backward(x, y)      # keep only what backward needs
            return x * y

        @staticmethod
        def backward(ctx, gz):               # dL/dz in, one dL/d(input) per input out
            x, y = ctx.saved_tensors         # the arrays saved above (PyTorch's name)
            return gz * y, gz * x

``Mul.apply(a, b)`` unwraps the Tensors, runs ``forward``, wraps the result and, when a gradient
is needed, records the ``ctx`` as the result's ``grad_fn``: the node of the graph. The engine
(``engine.py``) later calls ``backward`` on each node; the checks every op would otherwise repeat
live here, once: gradients of broadcast inputs are summed back to the input's shape, cast to the
input's dtype, and a gradient of the wrong shape or kind is reported with the op's name.
"""
import numpy as np

from .. import backend
from . import profiler
from .grad_mode import is_grad_enabled


class Context:
    """What one op application remembers for its backward pass (PyTorch's ``ctx``).

    The engine fields: ``function`` (the op class), ``inputs`` (the input Tensors that need a
    gradient, None for the others) and ``needs_input_grad``. Anything else an op stores on it
    (``ctx.save_for_backward(...)``, ``ctx.dim = 1``) is dropped by ``release()`` once used.
    """
    _ENGINE_FIELDS = ('function', 'inputs', 'needs_input_grad', 'freed')

    def __init__(self, function, inputs):
        self.function = function
        self.needs_input_grad = tuple(t.requires_grad for t in inputs)
        self.inputs = tuple(t if t.requires_grad else None for t in inputs)
        self.freed = False

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        """What ``save_for_backward`` got: raw NumPy/CuPy *arrays*, not Tensors.

        The name is PyTorch's, so that a ``torch.autograd.Function`` reads the same here; but
        forward and backward work on arrays (the graph is recorded one level up, in ``apply``),
        so what is saved, and handed back here, is arrays.
        """
        return self._saved

    def release(self):
        """Free the saved arrays and the links to the inputs (after backward ran)."""
        for key in list(vars(self)):
            if key not in self._ENGINE_FIELDS:
                delattr(self, key)
        self.inputs = ()
        self.freed = True

    def name(self):
        return self.function.__name__ + 'Backward'

    def __repr__(self):
        return f'<{self.name()}>'


class _NoGradContext:
    """A throw-away ctx used when nothing needs a gradient: saves nothing."""
    needs_input_grad = ()

    def save_for_backward(self, *arrays):
        pass


class Function:
    """Base class of every differentiable op. Subclasses write ``forward`` and ``backward``."""

    # The class ``apply`` wraps results in (and ``minicls.functional`` makes tensors of):
    # ``minicls.Tensor``, set by ``minicls/tensor.py`` when it defines Tensor. The engine and the
    # functions sit below Tensor (its methods call them), so they are told the class instead of
    # importing it, which would be an import cycle.
    tensor_class = None

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors ``inputs`` (keyword ``params`` are passed to forward as is)."""
        for x in inputs:
            if not isinstance(x, Function.tensor_class):
                raise TypeError(f'{cls.__name__}.apply takes Tensors as positional arguments, '
                                f'got {type(x).__name__}; pass other values as keywords')
        _check_same_device(cls, inputs)
        record = is_grad_enabled() and any(x.requires_grad for x in inputs)
        ctx = Context(cls, inputs) if record else _NoGradContext()
        prof = profiler.current()
        start = prof and prof.clock()
        try:
            out = cls.forward(ctx, *[x.data for x in inputs], **params)
        except (ValueError, IndexError) as err:  # e.g. shapes that do not broadcast
            shapes = ' and '.join(str(tuple(x.shape)) for x in inputs)
            raise RuntimeError(f'{cls.__name__}: {err} (input shapes {shapes})') from err
        if prof:
            prof.record(cls.__name__, 'forward', start)
        if isinstance(out, np.generic):  # NumPy turns 0-d results into scalars: undo that
            out = backend.get_array_module(inputs[0].data).asarray(out)
        result = Function.tensor_class(out)
        if record and result.is_floating_point():
            result.requires_grad = True
            result.grad_fn = ctx
        return result


def _check_same_device(cls, inputs):
    devices = {x.device for x in inputs}
    if len(devices) > 1:
        listed = ' and '.join(sorted(devices))
        raise RuntimeError(f'{cls.__name__}: expected all tensors on the same device, but found '
                           f'{listed}. Move them with .to(device) (or model.to(device)) first.')


def run_backward(ctx, grad_output):
    """Call ``ctx.function.backward`` and return one checked gradient per input (or None)."""
    op = ctx.function.__name__
    prof = profiler.current()
    start = prof and prof.clock()
    grads = ctx.function.backward(ctx, grad_output)
    if prof:
        prof.record(op, 'backward', start)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(ctx.inputs):
        raise RuntimeError(f'{op}.backward returned {len(grads)} gradients, expected '
                           f'{len(ctx.inputs)} (one per input of forward, None for none)')
    return tuple(None if (x is None or g is None) else _fit_gradient(op, x, g)
                 for x, g in zip(ctx.inputs, grads))


def _fit_gradient(op, x, g):
    """Sum a broadcast gradient back to ``x.shape``, cast it to ``x.dtype``, check it."""
    xp = backend.get_array_module(x.data)
    if isinstance(g, np.generic):  # a 0-d result that NumPy made a scalar
        g = xp.asarray(g)
    if not isinstance(g, xp.ndarray):
        raise TypeError(f'{op}.backward returned a {type(g).__name__} as a gradient; '
                        f'expected an array of the input\'s backend ({xp.__name__})')
    if g.dtype.kind != 'f':
        raise TypeError(f'{op}.backward returned a gradient of dtype {g.dtype}; gradients '
                        'must be floating point')
    if g.shape != x.shape:
        g = sum_to(g, x.shape, op)
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    return g


def sum_to(g, shape, op='sum_to'):
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or stretched."""
    lead = g.ndim - len(shape)
    ok = lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, g.shape[lead:]))
    if not ok:
        raise RuntimeError(f'{op}.backward returned a gradient of shape {tuple(g.shape)} for an '
                           f'input of shape {tuple(shape)}: the shapes do not broadcast')
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)
