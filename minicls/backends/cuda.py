"""``minicls.backends.cuda.matmul.allow_tf32``: TensorFloat-32 for float32 matrix products on a
GPU, the switch of that name in ``torch.backends.cuda``.

TF32 rounds the inputs of a float32 product to 10 bits of mantissa (float16's; float32 has 23)
and keeps float32's range and sums. On Ampere and newer GPUs cuBLAS then runs the product on
tensor cores, several times faster, with a relative error near 1e-3 instead of 1e-7: usually
harmless for training, wrong for a gradient check. In minicls every convolution and linear
layer is a matrix product (im2col or Winograd, then a GEMM: there is no cuDNN), so this one
switch covers what torch splits between ``backends.cuda.matmul.allow_tf32`` and
``backends.cudnn.allow_tf32``.

    minicls.backends.cuda.matmul.allow_tf32 = True    # faster GPU training, less precise

Off by default, as torch's matmul switch, unless CuPy's own ``CUPY_TF32=1`` is set (then on:
it says what CuPy already does). CPUs, and GPUs older than Ampere (CuPy warns), ignore it.
"""
import os

from .. import backend


def _cupy_env_says_tf32():
    try:
        return int(os.environ.get('CUPY_TF32', '0') or 0) > 0
    except ValueError:
        return False


class _MatmulFlags:
    def __init__(self):
        self._allow_tf32 = _cupy_env_says_tf32()

    @property
    def allow_tf32(self):
        return self._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, value):
        if not isinstance(value, bool):
            raise TypeError(f'minicls.backends.cuda.matmul.allow_tf32 must be True or False, '
                            f'got {value!r}')
        backend.set_matmul_tf32(value)
        self._allow_tf32 = value

    def __repr__(self):
        return f'matmul(allow_tf32={self._allow_tf32})'


matmul = _MatmulFlags()
