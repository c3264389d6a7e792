"""minicls.nn.functional beyond the generic op suite: the compositions (losses) against PyTorch
for every option, batch_norm's running statistics, dropout's statistics, and the error messages.
The ops themselves (Linear, BatchNorm, LayerNorm, GroupNorm, BCEWithLogits, Dropout) also run
through tests/test_autograd/test_ops.py (gradcheck + parity)."""
import itertools

import numpy as np
import pytest

import minicls
import minicls.nn.functional as F
from minicls.autograd import gradcheck

RNG = np.random.default_rng(0)


def both(*arrays, grad=()):
    """The same arrays as minicls and torch tensors (``grad``: indices that need a gradient)."""
    torch = pytest.importorskip('torch')
    ours = [minicls.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    return ours, theirs


def assert_same(out, ref, inputs=(), refs=(), atol=1e-5, rtol=1e-4):
    """Equal values, shapes and dtypes; then equal gradients of sum(out * c) for ``inputs``."""
    ref_np = ref.detach().numpy()
    assert out.shape == ref_np.shape and out.dtype == ref_np.dtype
    np.testing.assert_allclose(out.numpy(), ref_np, atol=atol, rtol=rtol)
    if inputs:
        c = np.random.default_rng(1).standard_normal(out.shape).astype(ref_np.dtype)
        (out * minicls.tensor(c)).sum().backward()
        import torch
        (ref * torch.tensor(c)).sum().backward()
        for x, t in zip(inputs, refs):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=atol, rtol=rtol)


def logits(*shape, scale=2.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# -- cross_entropy / nll_loss ---------------------------------------------------------------------
CE_OPTIONS = list(itertools.product(['none', 'mean', 'sum'], [False, True], [0.0, 0.2],
                                    [False, True]))


@pytest.mark.parametrize('reduction,weighted,smoothing,ignore', CE_OPTIONS)
def test_cross_entropy_class_indices(reduction, weighted, smoothing, ignore):
    torch = pytest.importorskip('torch')
    target = np.array([0, 3, 1, 3, 2, 0], dtype=np.int64)
    if ignore:
        target[[1, 4]] = -100
    w = np.array([0.5, 2.0, 1.0, 3.0], np.float32)
    (x, weight), (tx, tw) = both(logits(6, 4), w, grad=(0,))
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(x, minicls.tensor(target), weight=weight if weighted else None, **kw)
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(target),
                                            weight=tw if weighted else None, **kw)
    assert_same(out, ref, [x], [tx])


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_cross_entropy_spatial_targets_with_weights_and_smoothing(reduction):
    torch = pytest.importorskip('torch')
    target = RNG.integers(0, 3, size=(2, 4, 5))
    target[0, 1, 2] = 7                       # ignore_index=7
    (x, weight), (tx, tw) = both(logits(2, 3, 4, 5), np.array([1., 2., .5], np.float32),
                                 grad=(0,))
    kw = dict(reduction=reduction, ignore_index=7, label_smoothing=0.1)
    out = F.cross_entropy(x, minicls.tensor(target), weight=weight, **kw)
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(target), weight=tw, **kw)
    assert_same(out, ref, [x], [tx])


@pytest.mark.parametrize('reduction,weighted,smoothing',
                         itertools.product(['none', 'mean', 'sum'], [False, True], [0.0, 0.3]))
def test_cross_entropy_probability_targets(reduction, weighted, smoothing):
    torch = pytest.importorskip('torch')
    probs = RNG.dirichlet(np.ones(5), size=4).astype(np.float32)
    (x, p, w), (tx, tp, tw) = both(logits(4, 5), probs, RNG.uniform(0.5, 2, 5).astype(np.float32),
                                   grad=(0, 1))
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(x, p, weight=w if weighted else None, **kw)
    ref = torch.nn.functional.cross_entropy(tx, tp, weight=tw if weighted else None, **kw)
    assert_same(out, ref, [x, p], [tx, tp])


def test_cross_entropy_single_sample_and_all_ignored():
    torch = pytest.importorskip('torch')
    (x,), (tx,) = both(logits(5), grad=(0,))
    out = F.cross_entropy(x, minicls.tensor(2))
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(2))
    assert_same(out, ref, [x], [tx])
    with np.errstate(invalid='ignore'):   # 0 / 0, as PyTorch
        nan = F.cross_entropy(minicls.tensor(logits(2, 3)), minicls.tensor([-100, -100]))
    assert np.isnan(nan.item())


def test_cross_entropy_is_stable_for_huge_logits():
    torch = pytest.importorskip('torch')
    big = np.array([[1e4, -1e4, 0.0], [-5e3, 1e4, 1e4 - 1]], np.float32)
    (x,), (tx,) = both(big, grad=(0,))
    target = np.array([1, 2])
    out = F.cross_entropy(x, minicls.tensor(target), label_smoothing=0.1, reduction='none')
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(target), label_smoothing=0.1,
                                            reduction='none')
    assert np.isfinite(out.numpy()).all()
    assert_same(out, ref, [x], [tx], rtol=1e-5)
    assert out.numpy()[0] > 1e3                   # 2e4 * 0.9 + smoothing terms: no overflow


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_nll_loss_weights_and_ignore_index(reduction):
    torch = pytest.importorskip('torch')
    target = np.array([2, 0, 1, 1, 0])
    (x, w), (tx, tw) = both(logits(5, 3), np.array([2.0, 0.5, 1.5], np.float32), grad=(0,))
    out = F.nll_loss(x, minicls.tensor(target), weight=w, ignore_index=1, reduction=reduction)
    ref = torch.nn.functional.nll_loss(tx, torch.tensor(target), weight=tw, ignore_index=1,
                                       reduction=reduction)
    assert_same(out, ref, [x], [tx])


def test_cross_entropy_gradcheck_float64():
    x = minicls.tensor(RNG.standard_normal((3, 4)), dtype=minicls.float64, requires_grad=True)
    w = minicls.tensor([0.5, 1.0, 2.0, 1.5], dtype=minicls.float64)
    t = minicls.tensor([3, -100, 1])
    assert gradcheck(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.2), [x])


def test_class_target_errors_name_the_problem():
    x = minicls.tensor(logits(3, 4))
    with pytest.raises(ValueError, match=r'batch_size \(3\).*batch_size \(2\)'):
        F.cross_entropy(x, minicls.tensor([0, 1]))
    with pytest.raises(IndexError, match='Target 7 is out of bounds.*4 classes'):
        F.cross_entropy(x, minicls.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match='Target -3'):
        F.nll_loss(x, minicls.tensor([0, -3, 1]))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        F.cross_entropy(x, minicls.tensor([0, 1, 2]), reduction='avg')
    with pytest.raises(ValueError, match=r'weight .* shape \(4,\)'):
        F.cross_entropy(x, minicls.tensor([0, 1, 2]), weight=minicls.ones(3))
    with pytest.raises(ValueError, match='probability targets'):
        F.cross_entropy(x, minicls.ones(3, 5))
    with pytest.raises(TypeError, match='integer dtype'):
        F.nll_loss(x, minicls.ones(3))


# -- binary_cross_entropy_with_logits -------------------------------------------------------------
@pytest.mark.parametrize('reduction,weighted,pos',
                         itertools.product(['none', 'mean', 'sum'], [False, True], [False, True]))
def test_bce_with_logits(reduction, weighted, pos):
    torch = pytest.importorskip('torch')
    arrays = (logits(4, 3, scale=5), RNG.uniform(0, 1, (4, 3)).astype(np.float32),
              RNG.uniform(0, 2, (4, 3)).astype(np.float32), np.array([0.5, 1.0, 3.0], np.float32))
    (x, y, w, pw), (tx, ty, tw, tpw) = both(*arrays, grad=(0, 1))
    kw = dict(reduction=reduction)
    out = F.binary_cross_entropy_with_logits(x, y, weight=w if weighted else None,
                                             pos_weight=pw if pos else None, **kw)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, ty, weight=tw if weighted else None, pos_weight=tpw if pos else None, **kw)
    assert_same(out, ref, [x, y], [tx, ty])


def test_bce_with_logits_big_logits_and_pos_weight_gradient():
    torch = pytest.importorskip('torch')
    big = np.array([1e4, -1e4, 80.0, -80.0], np.float32)
    (x, y), (tx, ty) = both(big, np.array([0., 1., 1., 0.], np.float32), grad=(0,))
    out = F.binary_cross_entropy_with_logits(x, y, reduction='none')
    ref = torch.nn.functional.binary_cross_entropy_with_logits(tx, ty, reduction='none')
    assert_same(out, ref, [x], [tx])
    np.testing.assert_allclose(out.numpy(), [1e4, 1e4, 0, 0], atol=1e-6)
    # PyTorch gives no gradient for pos_weight; ours is checked by finite differences
    args = [minicls.tensor(RNG.standard_normal((2, 3)), dtype=minicls.float64, requires_grad=True),
            minicls.tensor(RNG.uniform(0, 1, (2, 3)), dtype=minicls.float64, requires_grad=True),
            minicls.tensor([0.5, 2.0, 1.0], dtype=minicls.float64, requires_grad=True)]
    assert gradcheck(lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
                     args)


def test_bce_size_mismatch():
    with pytest.raises(ValueError, match=r'Target size \(\(3,\)\) must be the same as input'):
        F.binary_cross_entropy_with_logits(minicls.zeros(3, 1), minicls.zeros(3))


# -- regression losses ----------------------------------------------------------------------------
@pytest.mark.parametrize('name,reduction', itertools.product(
    ['l1_loss', 'mse_loss', 'smooth_l1_loss'], ['none', 'mean', 'sum']))
def test_regression_losses(name, reduction):
    torch = pytest.importorskip('torch')
    (x, y), (tx, ty) = both(logits(3, 4), logits(3, 4), grad=(0, 1))
    out = getattr(F, name)(x, y, reduction=reduction)
    ref = getattr(torch.nn.functional, name)(tx, ty, reduction=reduction)
    assert_same(out, ref, [x, y], [tx, ty])
    with pytest.raises(ValueError, match="got 'elementwise_mean'"):
        getattr(F, name)(x, y, reduction='elementwise_mean')


def test_smooth_l1_beta():
    torch = pytest.importorskip('torch')
    for beta in (0.0, 0.5, 3.0):
        (x, y), (tx, ty) = both(logits(5), logits(5), grad=(0,))
        assert_same(F.smooth_l1_loss(x, y, beta=beta),
                    torch.nn.functional.smooth_l1_loss(tx, ty, beta=beta), [x], [tx])


# -- batch_norm -----------------------------------------------------------------------------------
@pytest.mark.parametrize('shape,momentum', [((8, 3), 0.1), ((4, 3, 5, 5), 0.1),
                                            ((2, 3, 4, 4), 0.5)])
def test_batch_norm_running_stats_follow_pytorch_over_three_steps(shape, momentum):
    torch = pytest.importorskip('torch')
    c = shape[1]
    (rm, rv, w, b), (trm, trv, tw, tb) = both(
        np.zeros(c, np.float32), np.ones(c, np.float32), RNG.uniform(0.5, 2, c).astype(np.float32),
        RNG.standard_normal(c).astype(np.float32), grad=(2, 3))
    for step in range(3):
        data = (RNG.standard_normal(shape) * (step + 1) + 3).astype(np.float32)
        (x,), (tx,) = both(data, grad=(0,))
        out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum)
        ref = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True,
                                             momentum=momentum)
        w.grad = b.grad = tw.grad = tb.grad = None
        assert_same(out, ref, [x, w, b], [tx, tw, tb], atol=1e-4)
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(rv.numpy(), 1.0)       # the stats really moved
    (x,), (tx,) = both(logits(*shape), grad=(0,))  # eval with the learned stats
    assert_same(F.batch_norm(x, rm, rv, w, b), torch.nn.functional.batch_norm(tx, trm, trv, tw, tb),
                [x, w], [tx, tw], atol=1e-4)


def test_batch_norm_eval_leaves_stats_and_training_handles_a_large_mean():
    torch = pytest.importorskip('torch')
    rm, rv = minicls.tensor([1.0, 2.0]), minicls.tensor([4.0, 0.5])
    F.batch_norm(minicls.tensor(logits(3, 2)), rm, rv)
    np.testing.assert_array_equal(rm.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(rv.numpy(), [4.0, 0.5])
    data = (RNG.standard_normal((16, 2, 8, 8)) * 0.1 + 1000).astype(np.float32)
    out = F.batch_norm(minicls.tensor(data), None, None, training=True)
    ref = torch.nn.functional.batch_norm(torch.tensor(data), None, None, training=True)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=2e-3)
    assert out.dtype == np.float32


def test_batch_norm_training_saves_its_input_not_a_centred_copy():
    """Training keeps x for backward and makes x - mean again there, in dx's memory: one
    full-size array fewer alive from the forward to the backward."""
    x = minicls.tensor(logits(4, 3, 5), requires_grad=True)
    y = F.batch_norm(x, None, None, training=True)
    full = [a for a in y.grad_fn.saved_tensors if a is not None and a.size == x.numel()]
    assert len(full) == 1 and np.shares_memory(full[0], x.data)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-5)   # d(sum of xhat)/dx = 0


def test_batch_norm_training_gives_the_bits_of_the_plain_steps():
    """A small x (one block of images): the same float32 operations as the formulas written on
    whole arrays, so the same bits (a guard: the blocks and rows must not change them)."""
    x = (RNG.standard_normal((6, 3, 4, 5)) * 2 + 1).astype(np.float32)
    w, b, g = logits(3), logits(3), logits(6, 3, 4, 5)
    xt, wt, bt = (minicls.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.batch_norm(xt, None, None, wt, bt, training=True)
    y.backward(minicls.tensor(g))
    x3, g3, m = x.reshape(6, 3, -1), g.reshape(6, 3, -1), 6 * 20
    mean = np.einsum('ncl->c', x3) / m
    xc = x3 - mean[:, None]
    inv_std = 1 / np.sqrt(np.einsum('ncl,ncl->c', xc, xc) / m + np.float32(1e-5))
    y_ref = xc * (w * inv_std)[:, None] + b[:, None]
    sum_dy, sum_dy_xc = np.einsum('ncl->c', g3), np.einsum('ncl,ncl->c', g3, xc)
    k2 = inv_std * inv_std * sum_dy_xc / m
    gx = (g3 - (xc * k2[:, None] + (sum_dy / m)[:, None])) * (w * inv_std)[:, None]
    np.testing.assert_array_equal(y.numpy(), y_ref.reshape(x.shape))
    np.testing.assert_array_equal(xt.grad.numpy(), gx.reshape(x.shape))
    np.testing.assert_array_equal(wt.grad.numpy(), sum_dy_xc * inv_std)
    np.testing.assert_array_equal(bt.grad.numpy(), sum_dy)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        F.batch_norm(minicls.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r'running_mean should have shape \(3,\)'):
        F.batch_norm(minicls.zeros(2, 3), minicls.zeros(4), minicls.ones(3))
    with pytest.raises(ValueError, match='running_mean and running_var are needed'):
        F.batch_norm(minicls.zeros(2, 3), None, None)
    with pytest.raises(TypeError, match='num_batches_tracked'):
        F.batch_norm(minicls.zeros(2, 3), None, None, training=True, momentum=None)


# -- layer_norm / group_norm ----------------------------------------------------------------------
def test_layer_and_group_norm_float32_parity_on_bigger_shapes():
    torch = pytest.importorskip('torch')
    (x, w, b), (tx, tw, tb) = both(logits(4, 6, 8) + 5, logits(8), logits(8), grad=(0, 1, 2))
    assert_same(F.layer_norm(x, 8, w, b), torch.nn.functional.layer_norm(tx, (8,), tw, tb),
                [x, w, b], [tx, tw, tb], atol=1e-4)
    (x, w, b), (tx, tw, tb) = both(logits(3, 6, 4, 4), logits(6), logits(6), grad=(0, 1, 2))
    assert_same(F.group_norm(x, 3, w, b), torch.nn.functional.group_norm(tx, 3, tw, tb),
                [x, w, b], [tx, tw, tb], atol=1e-4)


def test_layer_and_group_norm_errors():
    with pytest.raises(ValueError, match=r'normalized_shape \[5\] does not match'):
        F.layer_norm(minicls.zeros(2, 4), 5)
    with pytest.raises(ValueError, match=r'channels \(6\) must be divisible by num_groups \(4\)'):
        F.group_norm(minicls.zeros(2, 6, 3), 4)
    with pytest.raises(ValueError, match=r'weight should have shape \(6,\)'):
        F.group_norm(minicls.zeros(2, 6, 3), 3, weight=minicls.ones(3))


# -- linear, dropout, one_hot ---------------------------------------------------------------------
def test_linear_shape_error():
    with pytest.raises(ValueError, match=r'weight.shape\[1\].*\(5, 3\)'):
        F.linear(minicls.zeros(2, 4), minicls.zeros(5, 3))


def test_dropout_statistics_scaling_and_gradient():
    minicls.manual_seed(0)
    x = minicls.ones(200, 500, requires_grad=True)
    y = F.dropout(x, p=0.3)
    values = y.numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.005                      # 100k draws: sd ~ 0.0015
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)     # the same mask, the same scale
    minicls.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, p=0.3).numpy(), values)   # seeded


def test_dropout_identity_cases_and_errors():
    x = minicls.tensor(logits(3, 4))
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x
    np.testing.assert_array_equal(F.dropout(x, p=1.0).numpy(), np.zeros((3, 4)))
    before = x.numpy().copy()
    out = F.dropout(x, p=0.5, inplace=True)
    assert out is x and ((x.numpy() == 0) | np.isclose(x.numpy(), 2 * before)).all()
    with pytest.raises(ValueError, match='between 0 and 1, but got 1.5'):
        F.dropout(x, p=1.5)


def test_one_hot():
    torch = pytest.importorskip('torch')
    labels = np.array([[0, 2], [3, 1]])
    out = F.one_hot(minicls.tensor(labels))
    ref = torch.nn.functional.one_hot(torch.tensor(labels))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert F.one_hot(minicls.tensor([1]), num_classes=5).shape == (1, 5)
    with pytest.raises(ValueError, match='class value 5 is out of range for num_classes=3'):
        F.one_hot(minicls.tensor([0, 5]), 3)
    with pytest.raises(ValueError, match='non-negative, got -1'):
        F.one_hot(minicls.tensor([0, -1]), 3)
    with pytest.raises(TypeError, match='integer'):
        F.one_hot(minicls.tensor([0.0, 1.0]), 3)


# -- the device path (real CuPy if present, else the stand-in of tests/fakecupy.py) ---------------
def test_compositions_run_on_the_device_path(cuda):
    arrays = [logits(4, 3), np.array([0, 2, -100, 1]), np.array([1.0, 2.0, 0.5], np.float32),
              RNG.uniform(0, 1, (4, 3)).astype(np.float32)]

    def run(device):
        x, t, w, y = [minicls.tensor(a).to(device) for a in arrays]
        x.requires_grad_()
        rm, rv = minicls.tensor([0.0] * 3).to(device), minicls.tensor([1.0] * 3).to(device)
        minicls.manual_seed(3)
        loss = (F.cross_entropy(x, t, weight=w, label_smoothing=0.1)
                + F.nll_loss(x, t, reduction='sum')
                + F.binary_cross_entropy_with_logits(x, y, pos_weight=w)
                + F.batch_norm(x, rm, rv, w, w, training=True).sum()
                + F.dropout(x, 0.5).sum() + F.mse_loss(x, y) + F.smooth_l1_loss(x, y))
        loss.backward()
        hot = F.one_hot(minicls.tensor([0, 2]).to(device), 3)
        assert loss.device == x.grad.device == hot.device == rm.device == device
        return loss.item(), x.grad.numpy(), rm.numpy(), hot.numpy()

    for ours, ref in zip(run('cuda:0'), run('cpu')):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('block_bytes', [1, 3000])
def test_conv2d_gradcheck_when_the_batch_is_cut_into_blocks(block_bytes, monkeypatch):
    """The CPU conv works in blocks of images (cache blocking); the generic suite's small cases
    fit in one block, so check blocks of one image and of a few images (uneven last block)."""
    from minicls.nn.functional import conv as conv_module
    monkeypatch.setattr(conv_module, 'BLOCK_BYTES', block_bytes)
    assert len(conv_module._blocks(np.zeros((5, 4, 6, 5)), ((3, 2), 0, 0, 0, (3, 2), 2))) > 1
    x = minicls.tensor(RNG.standard_normal((5, 4, 6, 5)), requires_grad=True)
    w = minicls.tensor(RNG.standard_normal((6, 2, 3, 2)), requires_grad=True)
    b = minicls.tensor(RNG.standard_normal(6), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
                     [x, w, b])
