"""The math methods of ``Tensor`` (``x + y``, ``x.sum(1)``, ``x.view(-1)``...).

Each method turns its operands into Tensors of one dtype (the promotion below) and applies one
op of ``minicls.autograd.ops``. The functions of ``minicls.functional`` (``minicls.exp(x)``)
call these methods, so a method and its function can never disagree.

``TensorOps`` is a mixin that ``Tensor`` inherits: this module sits below ``tensor.py`` in the
import chain (ops -> tensor_ops -> tensor -> functional) and never imports the ``Tensor``
class. It makes new tensors with ``_new``, from the class the autograd engine builds results of.
"""
import numbers

import numpy as np

from . import backend, dtypes
from .autograd import ops
from .autograd.function import Function
from .autograd.grad_mode import is_grad_enabled


def _new(array):
    """A new Tensor around ``array``: a plain Tensor even when the operand is a Parameter."""
    return Function.tensor_class(array)


# -- operand promotion --------------------------------------------------------------------------
def as_tensor_like(value, like):
    """``value`` (a Tensor, a Python/NumPy number or an array) as a Tensor on ``like``'s device."""
    if isinstance(value, TensorOps):
        return value
    xp = backend.get_array_module(like.data)
    if isinstance(value, (numbers.Number, np.generic)):
        floating = like.is_floating_point() or not isinstance(value, (float, np.floating))
        dtype = like.dtype if floating else dtypes.DEFAULT_FLOAT
        return _new(xp.asarray(value, dtype=dtype))
    array = xp.asarray(value)
    if array.dtype.kind == 'f' and like.is_floating_point():
        array = array.astype(like.dtype, copy=False)
    return _new(array)


def result_dtype(a, b):
    """PyTorch's promotion: a float beats an int; a 0-d tensor does not widen a same-kind one."""
    fa, fb = a.is_floating_point(), b.is_floating_point()
    if fa != fb:
        return a.dtype if fa else b.dtype
    if a.ndim == 0 and b.ndim > 0:
        return b.dtype
    if b.ndim == 0 and a.ndim > 0:
        return a.dtype
    return np.promote_types(a.dtype, b.dtype)


def promote(a, b):
    """Two operands (at least one a Tensor) as two Tensors of one dtype, for a binary op."""
    like = a if isinstance(a, TensorOps) else b
    a, b = as_tensor_like(a, like), as_tensor_like(b, like)
    dtype = result_dtype(a, b)
    return a.to(dtype), b.to(dtype)


def _binary(op, a, b):
    a, b = promote(a, b)
    return op.apply(a, b)


def _float(x):
    """Ops like exp/log on an integer tensor work in the default float dtype, as PyTorch."""
    return x if x.is_floating_point() else x.to(dtypes.DEFAULT_FLOAT)


class TensorOps:
    # -- operators ------------------------------------------------------------------------------
    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, other, self)

    def __truediv__(self, other):
        return self.div(other)

    def __rtruediv__(self, other):
        a, b = promote(other, self)
        return a.div(b)

    def __pow__(self, other):
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other):
        return _binary(ops.Pow, other, self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        a, b = promote(other, self)
        return a.matmul(b)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __getitem__(self, index):
        """``x[index]``: index Tensors are turned into arrays; the rest is NumPy's indexing."""
        def unwrap(i):  # index Tensors/arrays follow x to its device, as in PyTorch
            i = i.data if isinstance(i, TensorOps) else i
            return backend.to_device(i, self.device) if isinstance(i, np.ndarray) else i
        index = tuple(unwrap(i) for i in index) if isinstance(index, tuple) else unwrap(index)
        return ops.GetItem.apply(self, index=index)

    # -- comparisons: no gradient, a bool tensor ------------------------------------------------
    def _compare(self, other, op):
        other = as_tensor_like(other, self)
        return _new(op(self.data, other.data))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __invert__(self):
        return _new(~self.data)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b)

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self):
        return _new(self.data.any())

    def all(self):
        return _new(self.data.all())

    def isnan(self):
        return _new(self.data != self.data)

    # -- math (``minicls.<name>(x, ...)`` in minicls.functional calls the method of that name) --
    def add(self, other, alpha=1):
        return _binary(ops.Add, self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return _binary(ops.Sub, self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return _binary(ops.Mul, self, other)

    def div(self, other):
        a, b = promote(self, other)
        return ops.Div.apply(_float(a), _float(b))

    def pow(self, exponent):  # noqa: A003
        return _binary(ops.Pow, self, exponent)

    def matmul(self, other):
        """``a @ b`` as ``torch.matmul``: a 1-D operand is made a matrix, then the dim dropped."""
        a, b = promote(self, other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError('matmul: both arguments need at least 1 dimension, got shapes '
                               f'{a.shape} and {b.shape}')
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        a = a.unsqueeze(0) if a_vector else a
        b = b.unsqueeze(-1) if b_vector else b
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(f'matmul: shapes {a.shape} and {b.shape} cannot be multiplied '
                               f'({a.shape[-1]} != {b.shape[-2]})')
        out = ops.MatMul.apply(a, b)
        if b_vector:
            out = out.squeeze(-1)
        if a_vector:
            out = out.squeeze(-1 if b_vector else -2)
        return out

    def abs(self):  # noqa: A003
        return ops.Abs.apply(self)

    def exp(self):
        return ops.Exp.apply(_float(self))

    def log(self):
        return ops.Log.apply(_float(self))

    def sqrt(self):
        return ops.Sqrt.apply(_float(self))

    def neg(self):
        return ops.Neg.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return ops.Clamp.apply(self, min=min, max=max)

    def relu(self):
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(_float(self))

    def tanh(self):
        return ops.Tanh.apply(_float(self))

    def softmax(self, dim):
        return ops.Softmax.apply(_float(self), dim=dim)

    def log_softmax(self, dim):
        return ops.LogSoftmax.apply(_float(self), dim=dim)

    def sum(self, dim=None, keepdim=False):  # noqa: A003
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        return ops.Mean.apply(_float(self), dim=dim, keepdim=keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        correction = (1 if unbiased else 0) if correction is None else correction
        return ops.Var.apply(_float(self), dim=dim, correction=correction, keepdim=keepdim)

    def _extreme(self, dim, keepdim, mode):
        values = ops.Max.apply(self, dim=dim, keepdim=keepdim, mode=mode)
        if dim is None or isinstance(dim, (tuple, list)):
            return values
        arg = self.argmax if mode == 'max' else self.argmin
        return values, arg(dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):  # noqa: A003
        """Largest element; with an int ``dim``, the pair ``(values, indices)`` (as PyTorch)."""
        return self._extreme(dim, keepdim, 'max')

    def min(self, dim=None, keepdim=False):  # noqa: A003
        return self._extreme(dim, keepdim, 'min')

    def amax(self, dim=None, keepdim=False):
        return ops.Max.apply(self, dim=dim, keepdim=keepdim, mode='max')

    def amin(self, dim=None, keepdim=False):
        return ops.Max.apply(self, dim=dim, keepdim=keepdim, mode='min')

    def argmax(self, dim=None, keepdim=False):
        xp = backend.get_array_module(self.data)
        if dim is None:
            return _new(xp.asarray(self.data.argmax(), dtype=dtypes.int64))
        return _new(xp.argmax(self.data, axis=dim, keepdims=keepdim).astype(dtypes.int64))

    def argmin(self, dim=None, keepdim=False):
        xp = backend.get_array_module(self.data)
        if dim is None:
            return _new(xp.asarray(self.data.argmin(), dtype=dtypes.int64))
        return _new(xp.argmin(self.data, axis=dim, keepdims=keepdim).astype(dtypes.int64))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
        xp = backend.get_array_module(self.data)
        if not 0 <= k <= self.shape[dim]:
            raise RuntimeError(f'topk: k={k} is out of range for dimension {dim} of size '
                               f'{self.shape[dim]}')
        order = xp.argsort(-self.data if largest else self.data, axis=dim, kind='stable')
        index = _new(xp.take(order, xp.arange(k), axis=dim).astype(dtypes.int64))
        return self.gather(dim, index), index

    def gather(self, dim, index):
        index = index.data if isinstance(index, TensorOps) else index
        return ops.Gather.apply(self, dim=dim, index=backend.to_device(index, self.device))

    clip = clamp

    def std(self, dim=None, unbiased=True, keepdim=False):
        return self.var(dim, unbiased, keepdim) ** 0.5

    def square(self):
        return self * self

    # -- shape ----------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
            else shape
        if shape == self.shape:
            return self
        try:
            np.empty(self.shape, dtype=np.bool_).reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size "
                               f'{self.numel()} (shape {tuple(self.shape)})') from None
        return ops.Reshape.apply(self, shape=shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        dims = tuple(d % self.ndim for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f'permute: dims {dims} are not a permutation of {self.ndim} dims')
        return ops.Permute.apply(self, dims=dims)

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(dims)

    def unsqueeze(self, dim):
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dim = dim % self.ndim if self.ndim else 0
        if self.ndim == 0 or self.shape[dim] != 1:
            return self
        return self.reshape(self.shape[:dim] + self.shape[dim + 1:])

    def expand(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
            else shape
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        return self if shape == self.shape else ops.Expand.apply(self, shape=shape)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    # -- in-place updates (for optimisers and init, outside the graph) --------------------------
    def _check_inplace(self):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError('a leaf Tensor that requires grad is being used in an in-place '
                               'operation; wrap the update in `with minicls.no_grad():`')

    def _set(self, array):
        self._check_inplace()
        self.data[...] = array
        return self

    def zero_(self):
        return self._set(0)

    def fill_(self, value):
        return self._set(value)

    def copy_(self, src):
        return self._set(getattr(src, 'data', src))

    def add_(self, other, alpha=1):
        return self._set(self.data + alpha * getattr(other, 'data', other))

    def sub_(self, other, alpha=1):
        return self._set(self.data - alpha * getattr(other, 'data', other))

    def mul_(self, other):
        return self._set(self.data * getattr(other, 'data', other))

    def div_(self, other):
        return self._set(self.data / getattr(other, 'data', other))

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._set(backend.get_array_module(self.data).clip(self.data, min, max))

    def __setitem__(self, index, value):
        self._check_inplace()
        index = tuple(getattr(i, 'data', i) for i in index) if isinstance(index, tuple) \
            else getattr(index, 'data', index)
        self.data[index] = getattr(value, 'data', value)
