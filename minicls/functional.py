"""The tensor functions of ``minicls.*`` (``minicls.exp(x)``, ``minicls.cat([...])``...).

Each one turns its arguments into Tensors of one dtype and calls one op's ``apply``; the
Tensor methods (``x.exp()``, ``x + y``) call these, so there is one path for both spellings.

The Tensor methods call these functions, so this module sits below ``tensor.py`` in the import
chain (autograd ops -> functional -> tensor_ops -> tensor) and cannot import ``Tensor``. It
reaches the class through ``Function.tensor_class``, which ``tensor.py`` registers with the
autograd engine when it defines Tensor (every op's result is made of it too): ``_tensor`` and
``is_tensor`` below.
"""
import numbers

import numpy as np

from . import backend, dtypes
from .autograd import ops
from .autograd.function import Function


# -- argument handling --------------------------------------------------------------------------
def _tensor(array):
    """A new ``minicls.Tensor`` holding ``array`` (a plain Tensor, never a Parameter)."""
    return Function.tensor_class(array)


def is_tensor(obj):
    """True if ``obj`` is a minicls Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Function.tensor_class)


def as_tensor_like(value, like):
    """``value`` (a Tensor, a Python/NumPy number or an array) as a Tensor on ``like``'s device."""
    if is_tensor(value):
        return value
    xp = backend.get_array_module(like.data)
    if isinstance(value, (numbers.Number, np.generic)):
        floating = like.is_floating_point() or not isinstance(value, (float, np.floating))
        dtype = like.dtype if floating else dtypes.DEFAULT_FLOAT
        return _tensor(xp.asarray(value, dtype=dtype))
    array = xp.asarray(value)
    if array.dtype.kind == 'f' and like.is_floating_point():
        array = array.astype(like.dtype, copy=False)
    return _tensor(array)


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


def _promote(a, b):
    """Two operands (one of them a Tensor) as two Tensors of one dtype, for a binary op."""
    like = a if is_tensor(a) else b
    a, b = as_tensor_like(a, like), as_tensor_like(b, like)
    dtype = result_dtype(a, b)
    return a.to(dtype), b.to(dtype)


def _binary(op, a, b):
    a, b = _promote(a, b)
    return op.apply(a, b)


def _float(x):
    """Ops like exp/log on an integer tensor work in the default float dtype, as PyTorch."""
    return x if x.is_floating_point() else x.to(dtypes.DEFAULT_FLOAT)


# -- arithmetic ---------------------------------------------------------------------------------
def add(a, b, alpha=1):
    return _binary(ops.Add, a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    return _binary(ops.Sub, a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return _binary(ops.Mul, a, b)


def div(a, b):
    a, b = _promote(a, b)
    return ops.Div.apply(_float(a), _float(b))


def pow(a, b):  # noqa: A001 (PyTorch's name)
    return _binary(ops.Pow, a, b)


def neg(x):
    return ops.Neg.apply(x)


def matmul(a, b):
    """``a @ b`` as ``torch.matmul``: a 1-D operand is made a matrix, then the dim dropped."""
    a, b = _promote(a, b)
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


# -- element-wise -------------------------------------------------------------------------------
def abs(x):  # noqa: A001
    return ops.Abs.apply(x)


def exp(x):
    return ops.Exp.apply(_float(x))


def log(x):
    return ops.Log.apply(_float(x))


def sqrt(x):
    return ops.Sqrt.apply(_float(x))


def clamp(x, min=None, max=None):  # noqa: A002
    return ops.Clamp.apply(x, min=min, max=max)


clip = clamp


def relu(x):
    return ops.ReLU.apply(x)


def sigmoid(x):
    return ops.Sigmoid.apply(_float(x))


def tanh(x):
    return ops.Tanh.apply(_float(x))


def softmax(x, dim):
    return ops.Softmax.apply(_float(x), dim=dim)


def log_softmax(x, dim):
    return ops.LogSoftmax.apply(_float(x), dim=dim)


# -- reductions ---------------------------------------------------------------------------------
def sum(x, dim=None, keepdim=False):  # noqa: A001
    return ops.Sum.apply(x, dim=dim, keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    return ops.Mean.apply(_float(x), dim=dim, keepdim=keepdim)


def var(x, dim=None, unbiased=True, keepdim=False, correction=None):
    correction = (1 if unbiased else 0) if correction is None else correction
    return ops.Var.apply(_float(x), dim=dim, correction=correction, keepdim=keepdim)


def _extreme(x, dim, keepdim, mode):
    values = ops.Max.apply(x, dim=dim, keepdim=keepdim, mode=mode)
    if dim is None or isinstance(dim, (tuple, list)):
        return values
    arg = argmax if mode == 'max' else argmin
    return values, arg(x, dim=dim, keepdim=keepdim)


def max(x, dim=None, keepdim=False):  # noqa: A001
    """Largest element; with an int ``dim``, the pair ``(values, indices)`` (as PyTorch)."""
    return _extreme(x, dim, keepdim, 'max')


def min(x, dim=None, keepdim=False):  # noqa: A001
    return _extreme(x, dim, keepdim, 'min')


def amax(x, dim=None, keepdim=False):
    return ops.Max.apply(x, dim=dim, keepdim=keepdim, mode='max')


def amin(x, dim=None, keepdim=False):
    return ops.Max.apply(x, dim=dim, keepdim=keepdim, mode='min')


def argmax(x, dim=None, keepdim=False):
    xp = backend.get_array_module(x.data)
    if dim is None:
        return _tensor(xp.asarray(x.data.argmax(), dtype=dtypes.int64))
    return _tensor(xp.argmax(x.data, axis=dim, keepdims=keepdim).astype(dtypes.int64))


def argmin(x, dim=None, keepdim=False):
    xp = backend.get_array_module(x.data)
    if dim is None:
        return _tensor(xp.asarray(x.data.argmin(), dtype=dtypes.int64))
    return _tensor(xp.argmin(x.data, axis=dim, keepdims=keepdim).astype(dtypes.int64))


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    xp = backend.get_array_module(x.data)
    if not 0 <= k <= x.shape[dim]:
        raise RuntimeError(f'topk: k={k} is out of range for dimension {dim} of size '
                           f'{x.shape[dim]}')
    order = xp.argsort(-x.data if largest else x.data, axis=dim, kind='stable')
    index = xp.take(order, xp.arange(k), axis=dim).astype(dtypes.int64)
    return gather(x, dim, _tensor(index)), _tensor(index)


# -- shape and selection ------------------------------------------------------------------------
def reshape(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if shape == x.shape:
        return x
    try:
        np.empty(x.shape, dtype=np.bool_).reshape(shape)
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.numel()} "
                           f'(shape {tuple(x.shape)})') from None
    return ops.Reshape.apply(x, shape=shape)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def permute(x, *dims):
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    dims = tuple(d % x.ndim for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f'permute: dims {dims} are not a permutation of {x.ndim} dims')
    return ops.Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, dims)


def unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dim = dim % x.ndim if x.ndim else 0
    if x.ndim == 0 or x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


def expand(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return x if shape == x.shape else ops.Expand.apply(x, shape=shape)


def broadcast_to(x, shape):
    return expand(x, shape)


def getitem(x, index):
    """``x[index]``: index Tensors are turned into arrays; the rest is NumPy's indexing."""
    def unwrap(i):  # index Tensors/arrays follow x to its device, as in PyTorch
        i = i.data if is_tensor(i) else i
        return backend.to_device(i, x.device) if isinstance(i, np.ndarray) else i
    index = tuple(unwrap(i) for i in index) if isinstance(index, tuple) else unwrap(index)
    return ops.GetItem.apply(x, index=index)


def gather(x, dim, index):
    index = index.data if is_tensor(index) else index
    return ops.Gather.apply(x, dim=dim, index=backend.to_device(index, x.device))


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError('cat: expected a non-empty list of Tensors')
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = result_dtype(_tensor(np.empty((1,), dtype)), t)
    return ops.Cat.apply(*[t.to(dtype) for t in tensors], dim=dim % tensors[0].ndim)


concat = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f'stack expects each tensor to be equal size, but got {sorted(shapes)}')
    dim = dim % (tensors[0].ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def where(cond, x, y):
    like = x if is_tensor(x) else y if is_tensor(y) else cond
    x, y = _promote(as_tensor_like(x, like), as_tensor_like(y, like))
    return ops.Where.apply(cond, x, y)
