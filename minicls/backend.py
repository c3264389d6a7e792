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


def set_matmul_tf32(allow):
    """Let CuPy's float32 matrix products use TF32 tensor cores, or not (CuPy's compute type
    for float32; ``minicls.backends.cuda.matmul.allow_tf32`` explains). Nothing without CuPy."""
    if cupy is None:
        return
    linalg = cupy._core._routines_linalg
    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if allow else
                            linalg.COMPUTE_TYPE_DEFAULT)


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
        raise_pending()
        return cupy.asnumpy(array)
    with cupy.cuda.Device(int(device.split(':')[1])):
        return cupy.asarray(array)


def to_numpy(array):
    """A host NumPy array for any backend array."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        raise_pending()
        return cupy.asnumpy(array)
    return np.asarray(array)


# -- checks a GPU answers later -------------------------------------------------------------------
# Reading a value a GPU computed (``if (labels < 0).any(): raise ...``) makes the host wait until
# the device has run everything queued before it: a host sync. In the middle of a training step
# that stops the host from queueing the next kernels while the GPU works. So an op checks device
# data with ``check(bad, error)``: on the CPU it raises at once; on a GPU the 0-d flag ``bad`` is
# kept and read with the next transfer to the host (``Tensor.item()``/``.numpy()``/``float()``,
# ``minicls.cuda.synchronize()``), which the Runner makes once a step when it logs the loss. That
# is how CUDA itself reports a failed device-side assert in PyTorch: at the next synchronising call.
_pending = []        # (flag, error) not read yet
MAX_PENDING = 64     # read them all when this many wait (a loop that never reads anything back)


def check(bad, error):
    """Raise ``error()`` if the 0-d bool array ``bad`` is true: now on the CPU, with the next
    transfer to the host on a GPU. ``error`` builds the exception (it may read the data: by
    then the sync costs nothing)."""
    if cupy is None or not isinstance(bad, cupy.ndarray):
        if bad:
            raise error()
        return
    _pending.append((bad, error))
    if len(_pending) >= MAX_PENDING:
        raise_pending()


def raise_pending():
    """Read the flags of ``check`` (one transfer) and raise the first error found."""
    if not _pending:
        return
    pending = list(_pending)
    del _pending[:]
    flags = cupy.asnumpy(cupy.stack([bad.reshape(()) for bad, _ in pending]))
    for flag, (_, error) in zip(flags, pending):
        if flag:
            raise error()
