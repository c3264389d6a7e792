"""The fast float32 GELU kernel (``_gelu_blocks``) against its plain reference and PyTorch."""
import numpy as np
import pytest

import minicls
from minicls.autograd.ops import activation
from minicls.autograd.ops.activation import _BLOCK, _gelu_blocks, gelu_simple


def _inputs(size, seed=0):
    x = np.random.default_rng(seed).standard_normal(size).astype(np.float32) * 3
    x.flat[:8] = [0.0, -0.0, 1e-4, -1e-4, 9.0, -9.0, 40.0, -40.0]
    return x


def test_blocks_match_the_plain_formulas_across_block_and_thread_edges():
    x = _inputs(3 * _BLOCK + 7)                     # a part block at the end of each thread
    y, slope = _gelu_blocks(x, need_slope=True)
    y_ref, slope_ref = gelu_simple(x, np)
    assert y.dtype == slope.dtype == np.float32
    np.testing.assert_allclose(y, y_ref, rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(slope, slope_ref, rtol=2e-6, atol=2e-7)
    assert y[0] == 0 and y[6] == 40 and y[7] == 0 and slope[6] == 1 and slope[7] == 0


def test_blocks_give_the_same_bits_for_any_thread_count():
    x = _inputs((5, 7, 31, 31), seed=1)
    old = minicls.get_num_threads()
    try:
        minicls.set_num_threads(1)
        one = _gelu_blocks(x, need_slope=True)
        minicls.set_num_threads(2)
        two = _gelu_blocks(x, need_slope=True)
    finally:
        minicls.set_num_threads(old)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_the_op_takes_the_fast_path_for_float32_and_saves_only_the_slope(monkeypatch):
    calls = []
    real = activation._gelu_blocks
    monkeypatch.setattr(activation, '_gelu_blocks',
                        lambda x, need_slope: calls.append(need_slope) or real(x, need_slope))
    x = minicls.tensor(_inputs((2, 3, 4, 5))).requires_grad_(True)
    y = minicls.nn.functional.gelu(x)
    y.backward(minicls.ones_like(y) * 2)
    _, slope = gelu_simple(x.data, np)
    np.testing.assert_allclose(x.grad.data, 2 * slope, rtol=2e-6, atol=2e-7)
    with minicls.no_grad():
        minicls.nn.functional.gelu(x)
    minicls.nn.functional.gelu(x.double())         # float64 keeps the plain formulas
    assert calls == [True, False]


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_plain_formulas_skip_the_slope_when_no_gradient_is_needed(approximate):
    x = _inputs((3, 4)).astype(np.float64)
    y, slope = gelu_simple(x, np, approximate, need_slope=False)
    y_ref, slope_ref = gelu_simple(x, np, approximate)
    assert slope is None and slope_ref is not None and np.array_equal(y, y_ref)


def test_float32_gelu_matches_pytorch():
    torch = pytest.importorskip('torch')
    x = _inputs((4, 8, 31, 31), seed=2)
    gy = np.random.default_rng(3).standard_normal(x.shape).astype(np.float32)
    xm = minicls.tensor(x).requires_grad_(True)
    ym = minicls.nn.functional.gelu(xm)
    ym.backward(minicls.tensor(gy))
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(xt)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(xm.grad.data, xt.grad.numpy(), rtol=1e-5, atol=2e-6)
