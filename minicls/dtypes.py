"""dtype names as in PyTorch (``minicls.float32``...). They are plain NumPy dtypes."""
import numpy as np

float16 = np.dtype('float16')
float32 = np.dtype('float32')
float64 = np.dtype('float64')
int32 = np.dtype('int32')
int64 = np.dtype('int64')
uint8 = np.dtype('uint8')
bool = np.dtype('bool')  # noqa: A001 (PyTorch's name)
half, float, double, long, int = float16, float32, float64, int64, int32  # noqa: A001

DEFAULT_FLOAT = float32


def is_floating(dtype):
    return np.dtype(dtype).kind == 'f'


def infer_dtype(array_like):
    """The dtype ``minicls.tensor(data)`` gives: floats -> float32, ints -> int64, bools stay."""
    kind = np.asarray(array_like).dtype.kind
    if kind == 'f':
        return DEFAULT_FLOAT
    if kind in 'iu':
        return int64
    if kind == 'b':
        return bool
    raise TypeError(f'Cannot make a tensor from data of dtype {np.asarray(array_like).dtype}')
