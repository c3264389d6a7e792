"""Array backends: NumPy on the CPU, CuPy on a GPU, one code path for both.

Every op starts with ``xp = get_array_module(x)`` and calls ``xp.exp``, ``xp.matmul``... so the
same line runs on NumPy arrays and on CuPy arrays. This module is the only place that knows
CuPy exists; it is optional, and asking for ``'cuda'`` without it says how to install it.
"""
import numpy as np

try:  # CuPy is the optional `gpu` extra.
    import cupy as _cupy
    if _cupy.cuda.runtime.getDeviceCount() < 1:
        _cupy = None
except Exception:  # not installed, or no usable GPU/driver
    _cupy = None

# Tests swap in a CuPy stand-in here to prove the device path on a CPU machine.
cupy = _cupy

CUPY_HINT = ("CUDA is not available: minicls runs on the GPU through CuPy. Install the wheel "
             "that matches your CUDA toolkit, e.g. `pip install cupy-cuda12x` "
             "(or `pip install minicls[gpu]`), on a machine with an NVIDIA GPU.")


def get_array_module(x):
    """``numpy`` or ``cupy``: the module that owns array (or Tensor) ``x``."""
    if hasattr(x, 'grad_fn'):  # a Tensor: look at its array
        x = x.data
    if cupy is not None and isinstance(x, cupy.ndarray):
        return cupy
    return np


def device_of(array):
    """``'cpu'`` or ``'cuda:N'`` for a raw array."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return f'cuda:{array.device.id}'
    return 'cpu'


def parse_device(device):
    """Normalise ``'cpu'``, ``'cuda'``, ``'cuda:1'`` (or None) to ``'cpu'``/``'cuda:N'``."""
    if device is None:
        return 'cpu'
    device = str(device)
    if device == 'cpu':
        return 'cpu'
    if device == 'cuda' or device.startswith('cuda:'):
        if cupy is None:
            raise RuntimeError(CUPY_HINT)
        index = int(device.split(':')[1]) if ':' in device else cupy.cuda.runtime.getDevice()
        return f'cuda:{index}'
    raise ValueError(f"Unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'.")


def xp_for(device):
    """The array module for a device string."""
    return np if parse_device(device) == 'cpu' else cupy


def to_device(array, device):
    """Copy ``array`` to ``device`` (no copy if it is already there)."""
    device = parse_device(device)
    if device_of(array) == device:
        return array
    if device == 'cpu':
        return cupy.asnumpy(array)
    with cupy.cuda.Device(int(device.split(':')[1])):
        return cupy.asarray(array)


def to_numpy(array):
    """A host NumPy array for any backend array."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy.asnumpy(array)
    return np.asarray(array)
