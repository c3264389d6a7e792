"""Making tensors: ``tensor``, ``zeros``, ``randn``... as in PyTorch.

Floats default to float32 and Python ints to int64. Random numbers come from the one
generator that ``minicls.manual_seed`` seeds (drawn on the host, then moved to the device).
"""
import numpy as np

from . import backend, dtypes
from .random import generator
from .tensor import Tensor


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _make(array, dtype, device, requires_grad):
    array = array.astype(dtype or dtypes.DEFAULT_FLOAT, copy=False)
    return Tensor(backend.to_device(array, device or 'cpu'), requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (a list, number, array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    if isinstance(data, xp.ndarray):
        array = data.copy()
        dtype = dtype or array.dtype
        return Tensor(backend.to_device(array.astype(dtype, copy=False),
                                        device or backend.device_of(array)),
                      requires_grad=requires_grad)
    array = np.array(data)
    return _make(array, dtype or dtypes.infer_dtype(array), device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with an array when it can."""
    if isinstance(data, Tensor) and dtype in (None, data.dtype) and device in (None, data.device):
        return data
    if isinstance(data, np.ndarray) and dtype in (None, data.dtype) and device in (None, 'cpu'):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor that shares memory with the NumPy ``array`` (keeps its dtype)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f'expected np.ndarray (got {type(array).__name__})')
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(np.zeros(_shape(size)), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(np.ones(_shape(size)), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = dtype or dtypes.infer_dtype(fill_value)
    return _make(np.full(tuple(size), fill_value), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    return _make(array, dtype or dtypes.infer_dtype(array), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(np.linspace(start, end, steps), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(np.eye(n, m), dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1)."""
    return _make(generator().random(_shape(size)), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal."""
    return _make(generator().standard_normal(_shape(size)), dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    """Integers in [low, high): ``randint(low, high, size)`` or ``randint(high, size)``."""
    if isinstance(high, (tuple, list)):  # randint(high, size): PyTorch's two-argument form
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    return _make(generator().integers(low, high, size=tuple(size)), dtype or dtypes.int64,
                 device, False)


def randperm(n, dtype=None, device=None):
    return _make(generator().permutation(n), dtype or dtypes.int64, device, False)


def _like(fn, x, dtype, device, requires_grad, *args):
    return fn(*args, x.shape, dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _like(ones, x, dtype, device, requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype, device, requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    return _like(rand, x, dtype, device, requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    return _like(randn, x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)
