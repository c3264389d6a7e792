"""conv2d and pooling beyond the generic op suite: output shapes and values against PyTorch
over a grid of parameters, ties, partial gradients, and PyTorch's error messages."""
import itertools

import numpy as np
import pytest

import minicls
import minicls.nn.functional as F
from minicls.nn.functional import conv as conv_module

torch = pytest.importorskip('torch')
TF = torch.nn.functional


def pair_of_tensors(shape, seed=0, low=-2.0, high=2.0):
    a = np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)
    return minicls.tensor(a), torch.tensor(a)


@pytest.mark.parametrize('kernel,stride,padding,dilation', [
    (k, s, p, d) for k, s, p, d in itertools.product([1, 2, (3, 2)], [1, 2, (3, 1)],
                                                        [0, 1, (2, 0)], [1, 2])])
def test_conv2d_matches_torch_over_a_grid(kernel, stride, padding, dilation):
    """Forward and all three gradients; stride 1 takes the dx-as-a-conv route unless the
    padding reaches past the kernel (kernel 1, padding 1), the others col2im."""
    x, xt = pair_of_tensors((2, 4, 7, 8))
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    w, wt = pair_of_tensors((6, 2, kh, kw), seed=1)
    b, bt = pair_of_tensors((6,), seed=2)
    for t in (x, xt, w, wt, b, bt):
        t.requires_grad_(True)
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=2)
    try:
        ref = TF.conv2d(xt, wt, bt, **kw_args)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            F.conv2d(x, w, b, **kw_args)
        return
    out = F.conv2d(x, w, b, **kw_args)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-5, rtol=1e-4)
    g = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    (out * minicls.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for ours, theirs in ((x, xt), (w, wt), (b, bt)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('kernel,stride,padding,dilation,ceil_mode', [
    c for c in itertools.product([2, 3, (3, 2)], [None, 1, 2, (2, 3)], [0, 1], [1, 2],
                                 [False, True])])
def test_max_pool2d_matches_torch_over_a_grid(kernel, stride, padding, dilation, ceil_mode):
    x, xt = pair_of_tensors((2, 3, 7, 9), low=-3.0, high=-1.0)  # negative: padding must lose
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    try:
        ref = TF.max_pool2d(xt, kernel, **kw_args)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            F.max_pool2d(x, kernel, **kw_args)
        return
    out = F.max_pool2d(x, kernel, **kw_args)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize('kernel,stride,padding,ceil_mode,count_include_pad', [
    c for c in itertools.product([2, 3, (3, 2)], [None, 2, (2, 3)], [0, 1], [False, True],
                                 [False, True])])
def test_avg_pool2d_matches_torch_over_a_grid(kernel, stride, padding, ceil_mode,
                                              count_include_pad):
    x, xt = pair_of_tensors((2, 3, 7, 9))
    kw_args = dict(stride=stride, padding=padding, ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad)
    try:
        ref = TF.avg_pool2d(xt, kernel, **kw_args)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            F.avg_pool2d(x, kernel, **kw_args)
        return
    out = F.avg_pool2d(x, kernel, **kw_args)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('size,out', [((7, 5), (3, 2)), ((4, 4), (4, 4)), ((3, 5), (5, 7)),
                                      ((6, 9), (None, 4))])
def test_adaptive_avg_pool2d_shapes_and_values(size, out):
    x, xt = pair_of_tensors((2, 3) + size)
    ref = TF.adaptive_avg_pool2d(xt, out)
    got = F.adaptive_avg_pool2d(x, out)
    assert got.shape == tuple(ref.shape)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-6)


def test_unbatched_inputs_keep_their_rank():
    x, xt = pair_of_tensors((3, 6, 6))
    w, wt = pair_of_tensors((4, 3, 3, 3), seed=1)
    assert F.conv2d(x, w, padding=1).shape == tuple(TF.conv2d(xt, wt, padding=1).shape)
    assert F.max_pool2d(x, 2).shape == (3, 3, 3)
    assert F.avg_pool2d(x, 3, 2, 1).shape == tuple(TF.avg_pool2d(xt, 3, 2, 1).shape)


def test_max_pool_ties_send_the_gradient_to_the_first_max_like_torch():
    a = np.ones((1, 1, 4, 4), np.float32)
    x, xt = minicls.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    F.max_pool2d(x, 3, stride=1, padding=1).sum().backward()
    TF.max_pool2d(xt, 3, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert x.grad.numpy()[0, 0, 0, 0] == 4  # four windows see (0, 0) first


def test_max_pool_pads_with_minus_infinity():
    x = minicls.tensor(-np.ones((1, 1, 2, 2), np.float32))
    assert (F.max_pool2d(x, 3, stride=1, padding=1).numpy() == -1).all()


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('needs', [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize('block_bytes', [1, 2000, conv_module.BLOCK_BYTES])
def test_conv_partial_gradients_in_batch_blocks(needs, block_bytes, stride, monkeypatch):
    """Blocks of one image, of a few images (an uneven last block) and the whole batch; dx as a
    conv (stride 1) and by col2im (stride 2)."""
    monkeypatch.setattr(conv_module, 'BLOCK_BYTES', block_bytes)
    a = np.random.default_rng(0).standard_normal((5, 4, 6, 5)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((6, 2, 3, 2)).astype(np.float32)
    x, w = minicls.tensor(a, requires_grad=needs[0]), minicls.tensor(b, requires_grad=needs[1])
    xt, wt = torch.tensor(a, requires_grad=needs[0]), torch.tensor(b, requires_grad=needs[1])
    F.conv2d(x, w, stride=stride, padding=1, groups=2).square().sum().backward()
    TF.conv2d(xt, wt, stride=stride, padding=1, groups=2).square().sum().backward()
    for ours, theirs, needed in ((x, xt, needs[0]), (w, wt, needs[1])):
        if needed:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4,
                                       atol=1e-4)
        else:
            assert ours.grad is None


def test_conv_keeps_float32_and_gives_contiguous_nchw():
    x, _ = pair_of_tensors((2, 3, 5, 5))
    w, _ = pair_of_tensors((4, 3, 3, 3), seed=1)
    y = F.conv2d(x, w, padding=1)
    assert y.dtype == np.float32 and y.data.flags['C_CONTIGUOUS']


def test_channel_mismatch_names_both_shapes():
    x, w = minicls.zeros(2, 5, 5, 5), minicls.zeros(4, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r'weight of size \[4, 3, 3, 3\].*input\[2, 5, 5, 5\]'
                                           r'.*3 channels, but got 5'):
        F.conv2d(x, w)


@pytest.mark.parametrize('call,message', [
    (lambda: F.conv2d(minicls.zeros(2, 6, 5, 5), minicls.zeros(4, 3, 3, 3), groups=3),
     'divisible by 3'),
    (lambda: F.conv2d(minicls.zeros(2, 3, 2, 2), minicls.zeros(4, 3, 3, 3)),
     "Kernel size can't be greater"),
    (lambda: F.conv2d(minicls.zeros(2, 3, 5, 5), minicls.zeros(4, 3, 3, 3), minicls.zeros(3)),
     'bias of shape'),
    (lambda: F.conv2d(minicls.zeros(2, 3, 5, 5), minicls.zeros(4, 3, 3, 3), stride=2,
                      padding='same'), "padding='same' is not supported for strided"),
    (lambda: F.max_pool2d(minicls.zeros(1, 1, 5, 5), 3, padding=2),
     'pad should be at most half of effective kernel size'),
    (lambda: F.avg_pool2d(minicls.zeros(1, 1, 5, 5), 2, padding=2), 'at most half'),
    (lambda: F.max_pool2d(minicls.zeros(1, 1, 2, 2), 3), 'Output size is too small'),
    (lambda: F.pad(minicls.zeros(2, 3), (1, 2, 3)), 'even length'),
])
def test_errors_say_what_is_wrong(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()


def test_pad_with_a_value_matches_torch():
    x, xt = pair_of_tensors((1, 2, 3, 4))
    np.testing.assert_array_equal(F.pad(x, (2, 0, 1, 1), value=7.0).numpy(),
                                  TF.pad(xt, (2, 0, 1, 1), value=7.0).numpy())
