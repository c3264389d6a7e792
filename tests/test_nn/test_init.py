"""nn.init: fans and gains as PyTorch computes them, and the statistics of what is drawn."""
import math

import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.nn import init

SHAPES = [(64, 32), (16, 8, 3, 3), (10, 3, 5, 7), (4, 6, 2, 2, 2)]


@pytest.mark.parametrize('shape', SHAPES)
def test_fans_match_torch(shape):
    torch = pytest.importorskip('torch')
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(minicls.zeros(*shape)) == expected


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match='fewer than 2 dimensions'):
        init._calculate_fan_in_and_fan_out(minicls.zeros(5))


@pytest.mark.parametrize('args', [('linear',), ('conv2d',), ('sigmoid',), ('tanh',), ('relu',),
                                  ('leaky_relu',), ('leaky_relu', 0.2), ('selu',)])
def test_gain_matches_torch(args):
    torch = pytest.importorskip('torch')
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_gain_unknown_nonlinearity():
    with pytest.raises(ValueError, match='Unsupported nonlinearity'):
        init.calculate_gain('swish')


def _big(*shape):
    return minicls.zeros(*shape)


def _check(t, mean, std, tol=0.03):
    a = t.numpy().astype(np.float64)
    assert abs(a.mean() - mean) < tol * max(std, 1e-3) + 1e-3
    assert a.std() == pytest.approx(std, rel=tol)


def test_uniform_and_normal_statistics_and_seeding():
    minicls.manual_seed(0)
    t = init.uniform_(_big(200, 500), -2.0, 4.0)
    a = t.numpy()
    assert a.min() >= -2 and a.max() <= 4 and a.dtype == np.float32
    _check(t, 1.0, 6 / math.sqrt(12))
    _check(init.normal_(_big(200, 500), 3.0, 0.5), 3.0, 0.5)
    minicls.manual_seed(5)
    first = init.normal_(_big(4, 4)).numpy().copy()
    minicls.manual_seed(5)
    np.testing.assert_array_equal(first, init.normal_(_big(4, 4)).numpy())


def test_constants():
    t = _big(3, 4)
    assert init.constant_(t, 2.5) is t and (t.numpy() == 2.5).all()
    assert (init.ones_(t).numpy() == 1).all() and not init.zeros_(t).numpy().any()


def test_init_works_on_parameters_that_require_grad():
    p = nn.Parameter(minicls.zeros(3, 3))
    init.normal_(p)
    assert p.requires_grad and p.grad_fn is None and p.numpy().any()


@pytest.mark.parametrize('mode', ['fan_in', 'fan_out'])
@pytest.mark.parametrize('nonlinearity,a', [('relu', 0), ('leaky_relu', 0.1),
                                             ('leaky_relu', math.sqrt(5))])
def test_kaiming_statistics(mode, nonlinearity, a):
    shape = (256, 128, 3, 3)
    fan = 128 * 9 if mode == 'fan_in' else 256 * 9
    gain = math.sqrt(2.0) if nonlinearity == 'relu' else math.sqrt(2.0 / (1 + a * a))
    std = gain / math.sqrt(fan)
    _check(init.kaiming_normal_(_big(*shape), a=a, mode=mode, nonlinearity=nonlinearity), 0, std)
    t = init.kaiming_uniform_(_big(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _check(t, 0, std)
    assert np.abs(t.numpy()).max() <= math.sqrt(3) * std * (1 + 1e-6)


def test_kaiming_bad_mode():
    with pytest.raises(ValueError, match="'fan_in', 'fan_out'"):
        init.kaiming_normal_(_big(3, 3), mode='fan_avg')


def test_xavier_statistics():
    shape = (300, 200)
    std = math.sqrt(2.0 / 500)
    _check(init.xavier_normal_(_big(*shape)), 0, std)
    _check(init.xavier_uniform_(_big(*shape), gain=2.0), 0, 2 * std)


def test_trunc_normal_bounds_and_std():
    # N(0, 1) truncated to [-2, 2] has std 0.8796 (a truncated normal's known value)
    t = init.trunc_normal_(_big(300, 300))
    a = t.numpy()
    assert a.min() >= -2 and a.max() <= 2
    _check(t, 0, 0.8796)
    # mmpretrain's use: std=0.02 with the default absolute bounds [-2, 2] (no effect)
    _check(init.trunc_normal_(_big(300, 300), std=0.02), 0, 0.02)
    b = init.trunc_normal_(_big(100, 100), mean=1.0, std=1.0, a=0.5, b=1.5).numpy()
    assert b.min() >= 0.5 and b.max() <= 1.5
    with pytest.raises(ValueError):
        init.trunc_normal_(_big(2, 2), a=1, b=0)


@pytest.mark.parametrize('make,fan_in', [(lambda: nn.Linear(400, 300), 400),
                                         (lambda: nn.Conv2d(64, 128, 3), 64 * 9),
                                         (lambda: nn.Conv2d(64, 64, 3, groups=4), 16 * 9)])
def test_layer_default_init_is_pytorchs(make, fan_in):
    # kaiming_uniform_(a=sqrt(5)): bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in)
    #                                    = 1 / sqrt(fan_in); bias U(-1/sqrt(fan_in), same)
    minicls.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert np.abs(b).max() > 0.8 * bound  # spread over the whole range


def test_norm_layers_init_to_one_and_zero():
    for layer in (nn.BatchNorm2d(7), nn.BatchNorm1d(7), nn.LayerNorm(7), nn.GroupNorm(1, 7)):
        assert (layer.weight.numpy() == 1).all() and not layer.bias.numpy().any()
    bn = nn.BatchNorm2d(3)
    assert (bn.running_var.numpy() == 1).all() and not bn.running_mean.numpy().any()
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
