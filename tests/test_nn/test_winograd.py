"""Winograd F(2x2, 3x3) and F(4x4, 3x3) (minicls/nn/functional/winograd.py) and the conv algorithm switch
``minicls.backends.conv_algorithm``: every case of the conv op table under each algorithm
(against the plain reference, float64 gradcheck, PyTorch, the device path), the fast kernels
against their *_simple versions, the float32 error bound, and which convs 'auto' sends where."""
import inspect

import numpy as np
import pytest

import minicls
import minicls.nn.functional as F
from minicls import backends
from minicls.autograd import gradcheck
from minicls.nn.functional import reference as R
from minicls.nn.functional import winograd as W
from minicls.nn.functional.conv import Conv2d
from op_table import make_inputs

ALGORITHMS = ['im2col', 'winograd', 'winograd_4x4']
CASES = [(algorithm, case) for algorithm in ALGORITHMS for case in Conv2d.cases]
IDS = [f'{a}-{c.name}' for a, c in CASES]
F64 = lambda data: minicls.tensor(data, dtype=minicls.float64)  # noqa: E731


class RecordingLib:
    """``lib.nn.functional.conv2d`` runs the reference and remembers its arguments."""

    def __init__(self):
        self.nn = self.functional = self
        self.calls = []

    tensor = staticmethod(lambda data: np.array(data, dtype=np.float64))

    def conv2d(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return R.conv2d(*args, **kwargs)


@pytest.mark.parametrize('algorithm,case', CASES, ids=IDS)
def test_every_conv_case_matches_the_reference_under_each_algorithm(algorithm, case):
    arrays = make_inputs(case)
    xs = [minicls.tensor(a, requires_grad=True) for a in arrays]
    lib = RecordingLib()
    with backends.flags(conv_algorithm=algorithm):
        out = case.fn(minicls, *xs)
        g = np.random.default_rng(3).standard_normal(out.shape)
        (out * minicls.tensor(g)).sum().backward()
    expected = case.fn(lib, *arrays)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    (args, kwargs), = lib.calls
    grads = R.conv2d_backward(g, *args, **kwargs)
    bound = inspect.signature(R.conv2d).bind(*args, **kwargs).arguments
    names = {id(v): k for k, v in bound.items()}
    for t, a in zip(xs, arrays):
        name = names[id(a)]
        np.testing.assert_allclose(t.grad.numpy(), grads[('input', 'weight', 'bias').index(name)],
                                   rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize('algorithm,case', CASES, ids=IDS)
def test_every_conv_case_passes_gradcheck_under_each_algorithm(algorithm, case):
    xs = [minicls.tensor(a, dtype=minicls.float64, requires_grad=i in case.grad)
          for i, a in enumerate(make_inputs(case))]
    with backends.flags(conv_algorithm=algorithm):
        assert gradcheck(lambda *t: case.fn(minicls, *t), xs, eps=case.eps)


@pytest.mark.parametrize('algorithm,case', CASES, ids=IDS)
def test_every_conv_case_matches_pytorch_under_each_algorithm(algorithm, case):
    torch = pytest.importorskip('torch')
    arrays = [a.astype(np.float32) for a in make_inputs(case, seed=1)]
    ours = [minicls.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    g = np.random.default_rng(2).standard_normal(
        case.fn(torch, *theirs).shape).astype(np.float32)
    with backends.flags(conv_algorithm=algorithm):
        out = case.fn(minicls, *ours)
        (out * minicls.tensor(g)).sum().backward()
    ref = case.fn(torch, *theirs)
    (ref * torch.tensor(g)).sum().backward()
    # F(4x4, 3x3)'s float32 error is ~1e-6 of sum |x||w| (see the bound test below), ten
    # times the direct conv's: an output near 0 can differ from PyTorch's by 3e-5
    atol = 1e-4 if algorithm == 'winograd_4x4' else 1e-5
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=atol)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('case', [c for c in Conv2d.cases if '3x3' in c.name],
                         ids=lambda c: c.name)
@pytest.mark.parametrize('algorithm', ['winograd', 'winograd_4x4'])
def test_winograd_on_the_device_path_gives_the_cpu_result(case, algorithm, cuda):
    arrays = [a.astype(np.float32) for a in make_inputs(case, seed=3)]
    results = []
    with backends.flags(conv_algorithm=algorithm):
        for device in ('cpu', cuda):
            xs = [minicls.tensor(a).to(device).requires_grad_(True) for a in arrays]
            case.fn(minicls, *xs).sum().backward()
            results.append([x.grad.numpy() for x in xs])
    for ours, expected in zip(*results):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('algorithm', ALGORITHMS)
@pytest.mark.parametrize('channels,groups,size,stride', [
    (3, 1, 5, 1), (64, 1, 8, 1), (8, 8, 5, 1), (8, 8, 7, 2), (8, 2, 7, 2)],
    ids=['small', 'winograd-sized', 'depthwise', 'depthwise-strided', 'groups-strided'])
def test_conv2d_on_an_empty_batch(algorithm, channels, groups, size, stride):
    """As in PyTorch: a batch of 0 images gives an empty output and zero weight gradients,
    on every route (im2col, both Winograd tiles, the depthwise conv, strided or not)."""
    out = channels if groups == channels else 4 * groups       # depthwise: O == C == groups
    x = minicls.zeros(0, channels, size, size).requires_grad_()
    w = minicls.randn(out, channels // groups, 3, 3, requires_grad=True)
    with backends.flags(conv_algorithm=algorithm):
        y = F.conv2d(x, w, padding=1, groups=groups, stride=stride)
        assert y.shape == (0, out, (size - 1) // stride + 1, (size - 1) // stride + 1)
        y.sum().backward()
    assert x.grad.shape == x.shape and not w.grad.numpy().any()


# ---------------------------------------------------------------- the kernels themselves

SHAPES = [((2, 3, 5, 5), (1, 1, 1, 1)), ((3, 4, 7, 6), (0, 0, 0, 0)),
          ((1, 2, 4, 5), (1, 1, 2, 0)), ((5, 3, 3, 4), (2, 2, 1, 1)), ((2, 1, 3, 3), (0, 0, 0, 0))]


SHAPES += [((2, 3, 11, 9), (1, 1, 1, 1)), ((1, 2, 6, 6), (0, 0, 0, 0))]   # 3 and 1 4x4 tiles


@pytest.mark.parametrize('tile', [2, 4])
@pytest.mark.parametrize('block_bytes', [1, W.BLOCK_BYTES])
@pytest.mark.parametrize('x_shape,padding', SHAPES)
def test_fast_and_simple_winograd_match_the_reference(x_shape, padding, block_bytes, tile,
                                                      monkeypatch):
    """Output sizes not a multiple of the tile (a part-empty last tile), uneven padding, one
    image per block."""
    monkeypatch.setattr(W, 'BLOCK_BYTES', block_bytes)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal((4, x_shape[1], 3, 3))
    top, bottom, left, right = padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    expected = R.conv2d(x_pad, w)
    gy = rng.standard_normal(expected.shape)
    expected_gw = R.conv2d_backward(gy, x_pad, w)[1]
    for conv, grad_weight in ((W.winograd_conv2d, W.winograd_grad_weight),
                              (W.winograd_conv2d_simple, W.winograd_grad_weight_simple)):
        np.testing.assert_allclose(conv(x, w, padding, tile), expected, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(grad_weight(gy, x, padding, tile), expected_gw, rtol=1e-11,
                                   atol=1e-11)


ERROR_SHAPES = [(64, (10, 9)), (256, (10, 9)), (64, (32, 32)), (512, (4, 4))]


@pytest.mark.parametrize('tile,bound', [(2, 1e-6), (4, 1e-5)])
@pytest.mark.parametrize('channels,size', ERROR_SHAPES)
def test_winograd_float32_error_is_within_the_stated_bound(tile, bound, channels, size):
    """|y32 - y| <= bound * (|x| conv |w|) for every output (y: the float64 direct conv), and
    the same for dW. Measured on these inputs (N(0, 1) data), worst ratio for y / dW: im2col
    0.5-2.2e-7 / 0.7-1.5e-7; F(2x2, 3x3) 0.3-1.4e-7 / 0.3-3.8e-7, no worse (its transforms
    only add, subtract and halve); F(4x4, 3x3) 0.6-2.7e-6 / 0.3-7.2e-6, about ten times more
    (its transforms multiply by up to 8 and by 1/24, and the rounding errors grow with them;
    the worst dW is at 512 channels on a 4x4 image, where 'auto' takes F(2x2))."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, channels) + size).astype(np.float32)
    w = rng.standard_normal((8, channels, 3, 3)).astype(np.float32)
    padding = (1, 1, 1, 1)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    exact = R.conv2d(x64, w64, padding=1)
    scale = R.conv2d(np.abs(x64), np.abs(w64), padding=1)
    y = W.winograd_conv2d(x, w, padding, tile)
    assert y.dtype == np.float32
    assert (np.abs(y - exact) / scale).max() <= bound
    gy = rng.standard_normal(exact.shape).astype(np.float32)
    x_pad = np.pad(x64, ((0, 0), (0, 0), (1, 1), (1, 1)))
    exact_gw = R.conv2d_backward(gy.astype(np.float64), x_pad, w64)[1]
    scale_gw = R.conv2d_backward(np.abs(gy).astype(np.float64), np.abs(x_pad), w64)[1]
    gw = W.winograd_grad_weight(gy, x, padding, tile)
    assert gw.dtype == np.float32
    assert (np.abs(gw - exact_gw) / scale_gw).max() <= bound


# ---------------------------------------------------------------- the switch

def spy_on_winograd(monkeypatch):
    used = []
    for name in ('winograd_conv2d', 'winograd_grad_weight'):
        def spy(*args, _name=name, _fn=getattr(W, name)):
            used.append((_name, args[-1]))
            return _fn(*args)
        monkeypatch.setattr(W, name, spy)
    return used


ALL_THREE = ['winograd_conv2d', 'winograd_conv2d', 'winograd_grad_weight']   # forward, dx, dW


@pytest.mark.parametrize('algorithm,shape,size,kwargs,expected', [
    ('auto', (64, 64), 8, dict(padding=1), [(f, 4) for f in ALL_THREE]),
    ('auto', (64, 64), 6, dict(padding=1), [(f, 2) for f in ALL_THREE]),   # F(4x4) pads 6 to 8
    ('auto', (3, 64), 8, dict(padding=1), []),          # too few channels: im2col is faster
    ('auto', (64, 64), 8, dict(padding=1, stride=2), []),  # strided: Winograd does not apply
    ('im2col', (64, 64), 8, dict(padding=1), []),
    ('winograd', (3, 4), 8, dict(padding=1), [(f, 2) for f in ALL_THREE]),
    ('winograd_4x4', (3, 4), 6, dict(padding=1), [(f, 4) for f in ALL_THREE]),
    ('winograd', (4, 4), 8, dict(dilation=2), []),         # does not apply: im2col
    ('winograd_4x4', (4, 4), 8, dict(groups=2), []),
])
def test_the_switch_picks_the_algorithm(algorithm, shape, size, kwargs, expected, monkeypatch):
    used = spy_on_winograd(monkeypatch)
    cin, cout = shape
    x = minicls.randn(2, cin, size, size, requires_grad=True)
    w = minicls.randn(cout, cin // kwargs.get('groups', 1), 3, 3, requires_grad=True)
    with backends.flags(conv_algorithm=algorithm):
        F.conv2d(x, w, **kwargs).sum().backward()
    assert used == expected


def test_flags_restores_the_setting_and_bad_values_are_refused(monkeypatch):
    assert backends.conv_algorithm == 'auto'
    with backends.flags(conv_algorithm='im2col'):
        assert backends.get_conv_algorithm() == 'im2col'
    assert backends.conv_algorithm == 'auto'
    with pytest.raises(ValueError, match="one of .*'winograd'.*got 'fft'"):
        with backends.flags(conv_algorithm='fft'):
            pass
    monkeypatch.setattr(backends, 'conv_algorithm', 'winnograd')
    with pytest.raises(ValueError, match="conv_algorithm must be one of .*got 'winnograd'"):
        F.conv2d(minicls.randn(1, 1, 3, 3), minicls.randn(1, 1, 3, 3))
