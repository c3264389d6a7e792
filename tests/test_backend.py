"""The CuPy path, proved on a CPU machine.

``fakecupy`` stands in for CuPy: its arrays refuse silent conversion to NumPy and refuse NumPy
functions, as real device arrays do. Every op case runs on it and must give the CPU's results,
so an op with a stray ``np.`` call on its data fails here. With a real GPU and CuPy installed,
the same tests run on the real thing (``REAL_CUPY``).
"""
import numpy as np
import pytest

import fakecupy
import minicls
from minicls import backend
from op_table import all_cases, case_id, make_inputs

CASES = all_cases()
REAL_CUPY = backend.cupy is not None
# The stand-in runs NumPy underneath: the same numbers. A real GPU sums in another order.
TOL = dict(rtol=2e-4, atol=2e-5) if REAL_CUPY else dict(rtol=1e-5, atol=1e-6)


class OnDevice:
    """``minicls`` with ``tensor`` creating on the device (so cases' constants follow)."""

    def __init__(self, device):
        self.device = device

    def __getattr__(self, name):
        return getattr(minicls, name)

    def tensor(self, data, **kwargs):
        return minicls.tensor(data, **kwargs).to(self.device)


def run_case(lib, case, device):
    arrays = [a.astype(np.float32) for a in make_inputs(case, seed=3)]
    xs = [minicls.tensor(a).to(device).requires_grad_(i in case.grad)
          for i, a in enumerate(arrays)]
    out = case.fn(lib, *xs)
    out = out[0] if isinstance(out, tuple) else out
    cot = np.random.default_rng(4).standard_normal(out.shape).astype(np.float32)
    (out * minicls.tensor(cot).to(device)).sum().backward()
    return out, [xs[i].grad for i in case.grad]


@pytest.mark.parametrize('pair', CASES, ids=[case_id(p) for p in CASES])
def test_every_op_runs_on_the_device_path(pair, cuda):
    op, case = pair
    ref_out, ref_grads = run_case(minicls, case, 'cpu')
    out, grads = run_case(OnDevice(cuda), case, cuda)
    assert out.device == 'cuda:0'
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), **TOL)
    for g, ref in zip(grads, ref_grads):
        assert g.device == 'cuda:0'
        np.testing.assert_allclose(g.numpy(), ref.numpy(), **TOL)


def test_the_stand_in_catches_a_stray_numpy_call(monkeypatch):
    # A test of the stand-in itself, so it runs on the stand-in even where CuPy is real.
    monkeypatch.setattr(backend, 'cupy', fakecupy.make_module())
    x = minicls.ones(3).to('cuda')
    with pytest.raises(TypeError, match='device array'):
        np.exp(x.data + np.ones(3))
    with pytest.raises(TypeError, match='numpy.concatenate was called on a device array'):
        np.concatenate([x.data, x.data])
    # np.asarray(x.data) cannot be refused by an ndarray subclass; its result is a host array,
    # which the next step catches (mixing it with device arrays raises, and an op whose
    # output is a host array fails the device checks of test_every_op_runs_on_the_device_path).


def test_to_device_and_back_is_differentiable(cuda):
    x = minicls.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(cuda)
    assert y.device == 'cuda:0' and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.device == 'cpu'
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert x.cuda().cpu().device == 'cpu'


def test_mixing_devices_names_both(cuda):
    a = minicls.ones(2)
    b = minicls.ones(2).to(cuda)
    with pytest.raises(RuntimeError, match=r'Add: expected all tensors on the same device, '
                                           r'but found cpu and cuda:0'):
        a + b


def test_get_array_module(cuda):
    assert backend.get_array_module(minicls.ones(1)) is np
    assert backend.get_array_module(minicls.ones(1).to(cuda)) is backend.cupy
    assert backend.get_array_module(np.ones(1)) is np


def test_asking_for_cuda_without_cupy_says_how_to_install(monkeypatch):
    monkeypatch.setattr(backend, 'cupy', None)
    assert not minicls.cuda.is_available()
    with pytest.raises(RuntimeError, match='pip install cupy-cuda12x'):
        minicls.ones(2).to('cuda')
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        minicls.ones(2).to('tpu')
