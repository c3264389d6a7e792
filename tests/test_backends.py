"""minicls.backends: the TF32 switch for GPU matrix products (conv_algorithm's tests are in
tests/test_nn/test_winograd.py)."""
import numpy as np
import pytest

import minicls
from minicls import backend
from minicls.backends import cuda as backends_cuda

REAL_CUPY = backend.cupy is not None


@pytest.fixture
def tf32_off():
    yield
    minicls.backends.cuda.matmul.allow_tf32 = False


def test_allow_tf32_sets_cupys_compute_type_for_float32(cuda, tf32_off):
    matmul = minicls.backends.cuda.matmul
    matmul.allow_tf32 = False
    a = minicls.full((1024, 1024), 1.0001).to(cuda)
    b = minicls.ones(1024, 1024).to(cuda)
    full_precision = (a @ b).numpy()[0, 0]
    matmul.allow_tf32 = True
    assert matmul.allow_tf32 is True
    if REAL_CUPY:   # the effect: 1.0001 rounded to 10 bits is 1 (on Ampere and newer)
        if int(backend.cupy.cuda.Device().compute_capability) < 80:
            pytest.xfail('TF32 needs an Ampere or newer GPU')
        assert (a @ b).numpy()[0, 0] == 1024.0 != full_precision
    else:           # the call: CuPy's compute type for float32
        linalg = backend.cupy._core._routines_linalg
        assert linalg.compute_types[np.dtype(np.float32)] == linalg.COMPUTE_TYPE_TF32
    matmul.allow_tf32 = False
    if REAL_CUPY:
        assert (a @ b).numpy()[0, 0] == full_precision
    else:
        assert linalg.compute_types[np.dtype(np.float32)] == linalg.COMPUTE_TYPE_DEFAULT


def test_allow_tf32_takes_only_a_bool(tf32_off):
    with pytest.raises(TypeError, match='allow_tf32 must be True or False, got 1'):
        minicls.backends.cuda.matmul.allow_tf32 = 1
    assert minicls.backends.cuda.matmul.allow_tf32 is False


@pytest.mark.parametrize('env, on', [(None, False), ('1', True), ('0', False), ('', False),
                                     ('yes', False)])
def test_allow_tf32_is_off_unless_cupys_own_switch_says_on(env, on, monkeypatch):
    if env is None:
        monkeypatch.delenv('CUPY_TF32', raising=False)     # the default: off, as torch's
    else:
        monkeypatch.setenv('CUPY_TF32', env)
    assert backends_cuda._MatmulFlags().allow_tf32 is on
