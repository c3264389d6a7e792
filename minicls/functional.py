"""The tensor functions of ``minicls.*`` (``minicls.exp(x)``, ``minicls.cat([...])``...).

Each one calls the Tensor method of the same name (``minicls/tensor_ops.py``), which turns the
operands into Tensors of one dtype and applies one op, so ``minicls.exp(x)`` and ``x.exp()``
take one path. Only the functions that are not methods (``cat``, ``stack``, ``where``) apply
their op here.
"""
import numpy as np

from .autograd import ops
from .tensor import Tensor
from .tensor_ops import as_tensor_like, promote, result_dtype


# -- arithmetic ---------------------------------------------------------------------------------
def add(a, b, alpha=1):
    a, b = promote(a, b)
    return a.add(b, alpha=alpha)


def sub(a, b, alpha=1):
    a, b = promote(a, b)
    return a.sub(b, alpha=alpha)


def mul(a, b):
    a, b = promote(a, b)
    return a.mul(b)


def div(a, b):
    a, b = promote(a, b)
    return a.div(b)


def pow(a, b):  # noqa: A001 (PyTorch's name)
    a, b = promote(a, b)
    return a.pow(b)


def neg(x):
    return x.neg()


def matmul(a, b):
    a, b = promote(a, b)
    return a.matmul(b)


# -- element-wise -------------------------------------------------------------------------------
def abs(x):  # noqa: A001
    return x.abs()


def exp(x):
    return x.exp()


def log(x):
    return x.log()


def sqrt(x):
    return x.sqrt()


def clamp(x, min=None, max=None):  # noqa: A002
    return x.clamp(min=min, max=max)


clip = clamp


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def softmax(x, dim):
    return x.softmax(dim)


def log_softmax(x, dim):
    return x.log_softmax(dim)


# -- reductions ---------------------------------------------------------------------------------
def sum(x, dim=None, keepdim=False):  # noqa: A001
    return x.sum(dim=dim, keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    return x.mean(dim=dim, keepdim=keepdim)


def var(x, dim=None, unbiased=True, keepdim=False, correction=None):
    return x.var(dim=dim, unbiased=unbiased, keepdim=keepdim, correction=correction)


def max(x, dim=None, keepdim=False):  # noqa: A001
    """Largest element; with an int ``dim``, the pair ``(values, indices)`` (as PyTorch)."""
    return x.max(dim=dim, keepdim=keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001
    return x.min(dim=dim, keepdim=keepdim)


def amax(x, dim=None, keepdim=False):
    return x.amax(dim=dim, keepdim=keepdim)


def amin(x, dim=None, keepdim=False):
    return x.amin(dim=dim, keepdim=keepdim)


def argmax(x, dim=None, keepdim=False):
    return x.argmax(dim=dim, keepdim=keepdim)


def argmin(x, dim=None, keepdim=False):
    return x.argmin(dim=dim, keepdim=keepdim)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    return x.topk(k, dim=dim, largest=largest, sorted=sorted)


# -- shape and selection ------------------------------------------------------------------------
def reshape(x, *shape):
    return x.reshape(*shape)


def flatten(x, start_dim=0, end_dim=-1):
    return x.flatten(start_dim, end_dim)


def permute(x, *dims):
    return x.permute(*dims)


def transpose(x, dim0, dim1):
    return x.transpose(dim0, dim1)


def unsqueeze(x, dim):
    return x.unsqueeze(dim)


def squeeze(x, dim=None):
    return x.squeeze(dim)


def expand(x, *shape):
    return x.expand(*shape)


def broadcast_to(x, shape):
    return x.expand(shape)


def getitem(x, index):
    return x[index]


def gather(x, dim, index):
    return x.gather(dim, index)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError('cat: expected a non-empty list of Tensors')
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = result_dtype(Tensor(np.empty((1,), dtype)), t)
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
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else cond
    x, y = promote(as_tensor_like(x, like), as_tensor_like(y, like))
    return ops.Where.apply(cond, x, y)
