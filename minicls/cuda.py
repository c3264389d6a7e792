"""``minicls.cuda``: is a GPU usable (through CuPy)?"""
from . import backend


def is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cupy is not None


def device_count():
    return backend.cupy.cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize():
    """Wait for the GPU to finish its queued work (for honest timings)."""
    if is_available():
        backend.cupy.cuda.Device().synchronize()
        backend.raise_pending()   # the device-side checks (backend.check) are answered now
