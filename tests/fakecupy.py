"""A CuPy stand-in for machines without a GPU.

Its arrays behave like CuPy's where it matters for minicls: they refuse to be turned into NumPy
arrays silently (``np.asarray(x)`` raises, as CuPy does), NumPy functions called on them raise,
and mixing them with NumPy arrays in arithmetic raises. Everything reached through the module
(``fakecupy.zeros``, ``fakecupy.matmul``...) works, by running NumPy underneath. So an op that
uses ``xp = get_array_module(x)`` passes, and one with a stray ``np.`` call fails.
(One hole: ``np.asarray(device_array)`` cannot be refused by an ndarray subclass; it silently
gives a host array, which then fails at the next mix with device arrays or at the device check
of the op's output.)
"""
import types

import numpy as np

_inside = [0]  # > 0 while this module's own functions run NumPy on unwrapped arrays


class ndarray(np.ndarray):  # noqa: N801 (CuPy's name)
    """A 'device' array: a NumPy array that refuses to leave the device implicitly."""

    def __array__(self, dtype=None, copy=None):
        if _inside[0]:
            return self.view(np.ndarray)
        raise TypeError('Implicit conversion to a NumPy array is not allowed. Please use '
                        '`.get()` to construct a NumPy array explicitly.')

    def __array_function__(self, func, types_, args, kwargs):
        if _inside[0]:
            return super().__array_function__(func, types_, args, kwargs)
        raise TypeError(f'numpy.{func.__name__} was called on a device array: use '
                        '`xp = get_array_module(x)` and `xp.' + func.__name__ + '`')

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs:
            if isinstance(x, np.ndarray) and not isinstance(x, ndarray) and x.ndim > 0:
                raise TypeError(f'Unsupported type {type(x)}: a NumPy array mixed with a '
                                f'device array in numpy.{ufunc.__name__}')
        args = [x.view(np.ndarray) if isinstance(x, ndarray) else x for x in inputs]
        if 'out' in kwargs:
            kwargs['out'] = tuple(o.view(np.ndarray) for o in kwargs['out'])
        _inside[0] += 1
        try:
            result = getattr(ufunc, method)(*args, **kwargs)
        finally:
            _inside[0] -= 1
        return _wrap(result)

    def get(self):
        return np.array(self.view(np.ndarray))

    def set(self, host):  # noqa: A003 (CuPy's name): copy a host array in
        if not isinstance(host, np.ndarray) or isinstance(host, ndarray) or \
                host.shape != self.shape:
            raise ValueError('set() takes a NumPy array of the same shape')
        self.view(np.ndarray)[...] = host

    @property
    def device(self):
        return types.SimpleNamespace(id=0)


def _unwrap(x):
    if isinstance(x, ndarray):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i) for i in x)
    return x


def _wrap(x):
    if isinstance(x, np.generic):  # CuPy never returns scalars, only 0-d arrays
        return np.asarray(x).view(ndarray)
    if isinstance(x, np.ndarray) and not isinstance(x, ndarray):
        return x.view(ndarray)
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _wrapped(fn):
    def call(*args, **kwargs):
        _inside[0] += 1
        try:
            result = fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        finally:
            _inside[0] -= 1
        return _wrap(result)
    return call


class _Namespace(types.ModuleType):
    """Wraps a NumPy namespace: each function unwraps device arrays, runs, wraps results."""

    def __init__(self, name, target):
        super().__init__(name)
        self._target = target

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if isinstance(value, types.ModuleType):
            return _Namespace(name, value)
        if isinstance(value, np.ufunc):
            return _Ufunc(value)
        if callable(value) and not isinstance(value, type):
            return _wrapped(value)
        return value


class _Ufunc:
    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _wrapped(self._ufunc)(*args, **kwargs)

    def __getattr__(self, name):  # reduce, at, outer...
        return _wrapped(getattr(self._ufunc, name))


class _Device:
    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass

    def use(self):
        pass


def make_module():
    """A fresh fake ``cupy`` module."""
    module = _Namespace('fakecupy', np)
    module.ndarray = ndarray
    module.asarray = lambda a, dtype=None: _wrap(np.array(_unwrap(a), dtype=dtype))
    module.array = module.asarray
    module.asnumpy = lambda a: np.array(a.view(np.ndarray)) if isinstance(a, ndarray) else \
        np.asarray(a)
    module.random = types.SimpleNamespace(seed=lambda s: None)
    pool = types.SimpleNamespace(used_bytes=lambda: 0, total_bytes=lambda: 0,
                                 free_all_blocks=lambda: None)
    module.get_default_memory_pool = lambda: pool
    compute_types = {}   # dtype -> compute type, as CuPy's set_compute_type keeps them
    module._core = types.SimpleNamespace(_routines_linalg=types.SimpleNamespace(
        COMPUTE_TYPE_DEFAULT=1, COMPUTE_TYPE_TF32=7, compute_types=compute_types,
        set_compute_type=lambda dtype, kind: compute_types.__setitem__(np.dtype(dtype), kind)))
    module.cuda = types.SimpleNamespace(
        Device=_Device,
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0))
    return module
