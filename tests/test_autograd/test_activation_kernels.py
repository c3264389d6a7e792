"""The fast float32 GELU and ReLU kernels (``_gelu_blocks``, ``_relu_blocks``) against their
plain references and PyTorch."""
import numpy as np
import pytest

import minicls
from minicls.autograd.ops import activation
from minicls.autograd.ops.activation import (_BLOCK, _gelu_blocks, _relu_blocks, gelu_simple,
                                              relu_backward_simple, relu_simple)


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


# -- ReLU -----------------------------------------------------------------------------------------
def _special(x):
    """Some -0.0, NaN and infinities scattered over ``x`` (a float32 array)."""
    flat = x.reshape(-1)
    flat[::7], flat[3::11], flat[5::13], flat[6::17] = -0.0, np.nan, -np.inf, np.inf
    return x


def _bits(a):
    return a.view(np.int32)


@pytest.mark.parametrize('size', [1, 5, _BLOCK + 3, 3 * _BLOCK + 7])
@pytest.mark.parametrize('threads', [1, 2])
@pytest.mark.filterwarnings('ignore:invalid value:RuntimeWarning')   # inf * 0 = NaN, both paths
def test_relu_blocks_give_the_bits_of_the_plain_formulas(size, threads, monkeypatch):
    """Below and above the size where the blocks go to the thread pool (lowered here), any
    size (part blocks at the end of a thread's share), the pool on and off."""
    monkeypatch.setattr(activation, 'RELU_PARALLEL_SIZE', 2 * _BLOCK)
    x = _special(_inputs(size, seed=size))
    gy = _special(np.random.default_rng(1).standard_normal(size).astype(np.float32))[::-1]
    old = minicls.get_num_threads()
    try:
        minicls.set_num_threads(threads)
        y = _relu_blocks(x)
        gx = _relu_blocks(y, gy)
        gx_ref = relu_backward_simple(y, gy)
    finally:
        minicls.set_num_threads(old)
    assert y.dtype == gx.dtype == np.float32
    np.testing.assert_array_equal(_bits(y), _bits(relu_simple(x)))
    np.testing.assert_array_equal(_bits(gx), _bits(gx_ref))


def test_relu_takes_the_fast_path_for_float32_and_saves_only_y(monkeypatch):
    calls = []
    real = activation._relu_blocks
    monkeypatch.setattr(activation, '_relu_blocks',
                        lambda x, gy=None: calls.append(gy is None) or real(x, gy))
    data = _special(_inputs((2, 3, 5, 4)))
    x = minicls.tensor(data.transpose(0, 1, 3, 2)).requires_grad_(True)   # not contiguous
    y = minicls.relu(x)
    assert [a is y.data for a in y.grad_fn.saved_tensors] == [True]
    y.sum().backward()                                  # a broadcast (stride 0) gradient
    np.testing.assert_array_equal(_bits(y.data), _bits(relu_simple(x.data)))
    np.testing.assert_array_equal(x.grad.data, ~(x.data <= 0))     # 1 where x > 0 or NaN
    minicls.relu(x.double()).sum().backward()           # float64 keeps the plain formulas
    assert calls == [True, False]


def test_relu_of_nan_and_infinities_is_pytorchs():
    torch = pytest.importorskip('torch')
    x = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1.0, 2.0, -3e38, 3e38], np.float32)
    for data in (x, np.tile(x, 1000)):                  # the fast path (float32) and ...
        for dtype in (np.float32, np.float64):           # ... the plain one
            ours = minicls.tensor(data.astype(dtype)).requires_grad_(True)
            theirs = torch.tensor(data.astype(dtype), requires_grad=True)
            y, y_ref = minicls.relu(ours), torch.relu(theirs)
            np.testing.assert_array_equal(y.data, y_ref.detach().numpy())
            gy = np.linspace(-2, 2, data.size).astype(dtype)
            y.backward(minicls.tensor(gy))
            y_ref.backward(torch.tensor(gy))
            np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())  # NaN in: dy
