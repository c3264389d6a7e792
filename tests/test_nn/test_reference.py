"""The fast conv, pooling and batch-norm ops against the plain reference kernels
(``minicls/nn/functional/reference.py``): forward and backward, in float64, without PyTorch.

The references themselves are checked by hand-computed examples and by finite differences of
their own forward, so a wrong-but-differentiable fast forward (which gradcheck passes) fails
here even where PyTorch is not installed."""
import inspect
import itertools
from types import SimpleNamespace

import numpy as np
import pytest

import minicls
import minicls.nn.functional as F
from minicls.nn.functional import conv as conv_module
from minicls.nn.functional import depthwise
from minicls.nn.functional import pooling
from minicls.nn.functional import reference as R
from minicls.nn.functional.conv import Conv2d
from minicls.nn.functional.normalization import BatchNorm
from minicls.nn.functional.pooling import AvgPool2d, MaxPool2d
from op_table import make_inputs

TOL = dict(rtol=1e-10, atol=1e-10)
FAST_OPS = {Conv2d: 'conv2d', MaxPool2d: 'max_pool2d', AvgPool2d: 'avg_pool2d',
            BatchNorm: 'batch_norm'}


def tensors(*arrays):
    return [minicls.tensor(a, requires_grad=True) for a in arrays]


def backward(out, seed=3):
    """Runs backward of sum(out * g) for a random g; returns g."""
    g = np.random.default_rng(seed).standard_normal(out.shape)
    (out * minicls.tensor(g)).sum().backward()
    return g


# ---------------------------------------------------------------- every OpCase of the fast ops

class ReferenceLib:
    """Stands in for the library in an ``OpCase``: ``lib.nn.functional.<op>(...)`` runs the
    reference and remembers its arguments, ``lib.tensor`` makes a float64 array."""

    def __init__(self):
        self.nn = SimpleNamespace(functional=self)
        self.calls = []

    @staticmethod
    def tensor(data):
        return np.array(data, dtype=np.float64)

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return getattr(R, name)(*args, **kwargs)
        return call


FAST_LIB = SimpleNamespace(nn=minicls.nn,
                           tensor=lambda data: minicls.tensor(data, dtype=minicls.float64))
CASES = [(op, case) for op in FAST_OPS for case in op.cases]


@pytest.mark.parametrize('op,case', CASES, ids=[f'{op.__name__}-{c.name}' for op, c in CASES])
def test_every_case_of_the_fast_ops_matches_the_reference(op, case):
    arrays = make_inputs(case)
    fast = tensors(*arrays)
    out = case.fn(FAST_LIB, *fast)
    lib = ReferenceLib()
    expected = case.fn(lib, *arrays)
    np.testing.assert_allclose(out.numpy(), expected, **TOL)
    g = backward(out)
    (name, args, kwargs), = lib.calls
    assert name == FAST_OPS[op]
    grads = getattr(R, name + '_backward')(g, *args, **kwargs)
    grads = dict(zip(('input', 'weight', 'bias'), grads if isinstance(grads, tuple) else (grads,)))
    arguments = inspect.signature(getattr(R, name)).bind(*args, **kwargs).arguments
    for t, a in zip(fast, arrays):
        arg_name, = (k for k, v in arguments.items() if v is a)
        np.testing.assert_allclose(t.grad.numpy(), grads[arg_name], **TOL, err_msg=arg_name)


def test_each_fast_op_names_its_reference():
    for op, name in FAST_OPS.items():
        assert f'Plain reference: minicls.nn.functional.reference.{name}' in op.__doc__
        assert callable(getattr(R, name)) and callable(getattr(R, name + '_backward'))


# ---------------------------------------------------------------- conv2d

CONV_GRID = [c for c in itertools.product([1, 2, (3, 2), (2, 4)], [1, 2, (3, 1)],
                                          [0, 1, (2, 0), 'same'], [1, 2], [1, 2])
             if not (c[2] == 'same' and c[1] != 1)]   # 'same' needs stride 1


def check_conv(x, w, b, **kwargs):
    fast = tensors(*(a for a in (x, w, b) if a is not None))
    out = F.conv2d(*fast, **kwargs)
    np.testing.assert_allclose(out.numpy(), R.conv2d(x, w, b, **kwargs), **TOL)
    g = backward(out)
    expected = [e for e in R.conv2d_backward(g, x, w, b, **kwargs) if e is not None]
    for t, e, name in zip(fast, expected, ('dx', 'dW', 'db')):
        np.testing.assert_allclose(t.grad.numpy(), e, **TOL, err_msg=name)


@pytest.mark.parametrize('kernel,stride,padding,dilation,groups', CONV_GRID)
def test_conv2d_matches_the_reference_over_a_grid(kernel, stride, padding, dilation, groups):
    """Forward, dx, dW and db. Stride 1 takes the dx-by-correlation route unless the padding
    reaches past the kernel (kernel 1 with padding 1, kernel 2 with padding 2), the others
    col2im; 'same' with an even kernel pads one more row/column at the bottom/right."""
    rng = np.random.default_rng(0)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x = rng.standard_normal((2, 4, 7, 8))
    w = rng.standard_normal((6, 4 // groups, kh, kw))
    check_conv(x, w, rng.standard_normal(6), stride=stride, padding=padding,
               dilation=dilation, groups=groups)


@pytest.mark.parametrize('kernel,stride,padding,dilation', [
    c for c in itertools.product([1, 3, (2, 3)], [1, 2, (1, 2)], [0, 1, (2, 1), 'same'], [1, 2])
    if not (c[2] == 'same' and c[1] != 1)])
def test_depthwise_conv2d_matches_the_reference_over_a_grid(kernel, stride, padding, dilation,
                                                            monkeypatch):
    """groups == C == O: the shifted multiply-add path (depthwise.py), never the GEMMs."""
    monkeypatch.setattr(conv_module, '_correlate', None)
    monkeypatch.setattr(conv_module, '_grad_weight', None)
    rng = np.random.default_rng(0)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    check_conv(rng.standard_normal((3, 5, 7, 8)), rng.standard_normal((5, 1, kh, kw)),
               rng.standard_normal(5), stride=stride, padding=padding, dilation=dilation,
               groups=5)


@pytest.mark.parametrize('needs', [(True, False), (False, True)])
@pytest.mark.parametrize('block_bytes', [1, 2000, depthwise.BLOCK_BYTES])
def test_depthwise_partial_gradients_in_batch_blocks(needs, block_bytes, monkeypatch):
    monkeypatch.setattr(depthwise, 'BLOCK_BYTES', block_bytes)   # depthwise's own budget
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 4, 6, 5)), rng.standard_normal((4, 1, 3, 3))
    x, w = minicls.tensor(a, requires_grad=needs[0]), minicls.tensor(b, requires_grad=needs[1])
    out = F.conv2d(x, w, stride=2, padding=1, groups=4)
    g = backward(out)
    dx, dw, _ = R.conv2d_backward(g, a, b, stride=2, padding=1, groups=4)
    assert (x.grad is None) != needs[0] and (w.grad is None) != needs[1]
    ours, expected = (x.grad, dx) if needs[0] else (w.grad, dw)
    np.testing.assert_allclose(ours.numpy(), expected, **TOL)


@pytest.mark.parametrize('kernel,stride,padding,route', [
    (3, 1, 1, '_grad_input_by_correlation'), ((2, 4), 1, 'same', '_grad_input_by_correlation'),
    (1, 1, 1, '_grad_input_by_col2im'), (3, 2, 1, '_grad_input_by_col2im')])
def test_conv_dx_takes_the_route_the_grid_claims(kernel, stride, padding, route, monkeypatch):
    taken = []
    for name in ('_grad_input_by_correlation', '_grad_input_by_col2im'):
        def spy(*args, _name=name, _fn=getattr(conv_module, name)):
            result = _fn(*args)
            if result is not None:
                taken.append(_name)
            return result
        monkeypatch.setattr(conv_module, name, spy)
    rng = np.random.default_rng(1)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    check_conv(rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, kh, kw)), None,
               stride=stride, padding=padding)
    assert taken == [route]


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('needs', [(True, False), (False, True)])
@pytest.mark.parametrize('block_bytes', [1, 2000, conv_module.BLOCK_BYTES])
def test_conv_partial_gradients_in_batch_blocks(needs, block_bytes, stride, monkeypatch):
    """Blocks of one image, of a few images (an uneven last block) and the whole batch, with
    only dx or only dW asked for."""
    monkeypatch.setattr(conv_module, 'BLOCK_BYTES', block_bytes)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2))
    x, w = minicls.tensor(a, requires_grad=needs[0]), minicls.tensor(b, requires_grad=needs[1])
    out = F.conv2d(x, w, stride=stride, padding=1, groups=2)
    g = backward(out)
    dx, dw, _ = R.conv2d_backward(g, a, b, stride=stride, padding=1, groups=2)
    assert (x.grad is None) != needs[0] and (w.grad is None) != needs[1]
    ours, expected = (x.grad, dx) if needs[0] else (w.grad, dw)
    np.testing.assert_allclose(ours.numpy(), expected, **TOL)


def test_reference_conv_by_hand():
    """One channel, a 3x3 input, a 2x2 kernel: each output is a dot product of one window."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)          # [[0 1 2] [3 4 5] [6 7 8]]
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    y = R.conv2d(x, w, np.array([0.5]))
    np.testing.assert_array_equal(y, [[[[0 * 1 + 1 * 2 + 3 * 3 + 4 * 4 + 0.5,
                                         1 * 1 + 2 * 2 + 4 * 3 + 5 * 4 + 0.5],
                                        [3 * 1 + 4 * 2 + 6 * 3 + 7 * 4 + 0.5,
                                         4 * 1 + 5 * 2 + 7 * 3 + 8 * 4 + 0.5]]]])
    # 'same' with an even kernel: the extra row/column of zeros goes at the bottom/right
    same = R.conv2d(x, w, padding='same')
    assert same.shape == (1, 1, 3, 3)
    assert same[0, 0, 2, 2] == 8 * 1 and same[0, 0, 0, 0] == y[0, 0, 0, 0] - 0.5


# ---------------------------------------------------------------- pooling

X_POOL = (2, 3, 7, 9)


def pool_is_valid(fn, kernel, **kwargs):
    try:
        fn(minicls.zeros(*X_POOL), kernel, **kwargs)
        return True
    except RuntimeError:
        return False


MAX_GRID = [dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c)
            for k, s, p, d, c in itertools.product([2, 3, (3, 2)], [None, 1, 2, (2, 3)], [0, 1],
                                                   [1, 2], [False, True])
            if pool_is_valid(F.max_pool2d, k, stride=s, padding=p, dilation=d, ceil_mode=c)]
AVG_GRID = [dict(kernel_size=k, stride=s, padding=p, ceil_mode=c, count_include_pad=i,
                 divisor_override=o)
            for k, s, p, c, i, o in itertools.product([2, 3, (3, 2)], [None, 2, (2, 3)], [0, 1],
                                                      [False, True], [False, True], [None, 3])
            if pool_is_valid(F.avg_pool2d, k, stride=s, padding=p, ceil_mode=c)]


@pytest.mark.parametrize('kwargs', MAX_GRID, ids=str)
def test_max_pool2d_matches_the_reference_over_a_grid(kwargs):
    """Whole negative values: many ties (the gradient goes to the first max in row-major
    order), and the -inf padding must lose against all of them."""
    x = np.random.default_rng(0).integers(-4, 0, X_POOL).astype(np.float64)
    t, = tensors(x)
    out = F.max_pool2d(t, **kwargs)
    np.testing.assert_array_equal(out.numpy(), R.max_pool2d(x, **kwargs))
    g = backward(out)
    np.testing.assert_allclose(t.grad.numpy(), R.max_pool2d_backward(g, x, **kwargs), **TOL)



@pytest.mark.parametrize('block_size', [2 ** 18, 2000], ids=['one-block', 'many-blocks'])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('shape', [(4, 8, 31, 31), (4, 16, 15, 15), (2, 16, 7, 7)])
@pytest.mark.parametrize('kwargs', [dict(kernel_size=2), dict(kernel_size=3, stride=2,
                                                                 padding=1)], ids=str)
def test_max_pool2d_blocks_match_the_reference_exactly(kwargs, shape, dtype, block_size,
                                                        monkeypatch):
    """FastCifarNet's pooling shapes, scaled down; four values only, so most windows tie (the
    gradient goes to the first max). Kernel 2 takes the tiled backward (written, not added:
    exactly equal), kernel 3 the overlapping one (its sums of several dy add up in another
    order than the reference's); ``block_size`` 2000 cuts images into runs of channels."""
    blocks = pooling._blocks
    monkeypatch.setattr(pooling, '_blocks', lambda xp, shape: blocks(xp, shape, block_size))
    x = np.random.default_rng(0).integers(-2, 2, shape).astype(dtype)
    t = minicls.tensor(x, requires_grad=True)
    out = F.max_pool2d(t, **kwargs)
    np.testing.assert_array_equal(out.numpy(), R.max_pool2d(x, **kwargs))
    g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(minicls.tensor(g))
    expected = R.max_pool2d_backward(g, x, **kwargs)
    if kwargs['kernel_size'] == 2:
        np.testing.assert_array_equal(t.grad.numpy(), expected)
    else:
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_max_pool2d_tiled_backward_keeps_an_infinite_gradient_to_its_winner():
    """dy * (arg == k) would give inf * 0 = nan at the losers: a non-finite dy takes the
    where() path, so the losers get 0 as before."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    t = minicls.tensor(x, requires_grad=True)
    g = np.array([[[[np.inf, 1.0], [-np.inf, 2.0]]]])
    F.max_pool2d(t, 2).backward(minicls.tensor(g))
    expected = np.zeros((4, 4))
    expected[1::2, 1::2] = g[0, 0]
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], expected)


@pytest.mark.parametrize('kwargs', AVG_GRID, ids=str)
def test_avg_pool2d_matches_the_reference_over_a_grid(kwargs):
    x = np.random.default_rng(0).standard_normal(X_POOL)
    t, = tensors(x)
    out = F.avg_pool2d(t, **kwargs)
    np.testing.assert_allclose(out.numpy(), R.avg_pool2d(x, **kwargs), **TOL)
    g = backward(out)
    np.testing.assert_allclose(t.grad.numpy(), R.avg_pool2d_backward(g, x, **kwargs), **TOL)


def test_the_pool_grids_are_mostly_valid():
    assert len(MAX_GRID) > 60 and len(AVG_GRID) > 120


def test_reference_pooling_by_hand():
    x = np.array([[[[1.0, 5.0, 2.0], [5.0, 0.0, 3.0], [4.0, 6.0, 6.0]]]])
    np.testing.assert_array_equal(R.max_pool2d(x, 2, stride=1), [[[[5, 5], [6, 6]]]])
    # ties: the first 5 (row-major) of the top-left window and the first 6 of the bottom ones
    gx = R.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    np.testing.assert_array_equal(gx, [[[[0, 2, 0], [0, 0, 0], [0, 2, 0]]]])
    # padding 1: the corner window holds one real pixel and three zeros of padding
    np.testing.assert_array_equal(R.avg_pool2d(x, 2, padding=1)[0, 0, 0], [1 / 4, 7 / 4])
    np.testing.assert_array_equal(
        R.avg_pool2d(x, 2, padding=1, count_include_pad=False)[0, 0, 0], [1, 7 / 2])


# ---------------------------------------------------------------- batch_norm

@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4, 5), (3, 3, 5)])
@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize('affine', [True, False])
def test_batch_norm_matches_the_reference(shape, training, affine):
    """Output, dx, dweight, dbias, and the running statistics updated in place."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    w, b = (rng.standard_normal(3), rng.standard_normal(3)) if affine else (None, None)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    ref_mean, ref_var = mean.copy(), var.copy()
    fast = tensors(*(a for a in (x, w, b) if a is not None))
    run_mean, run_var = minicls.tensor(mean), minicls.tensor(var)
    out = F.batch_norm(fast[0], run_mean, run_var, *fast[1:], training=training, momentum=0.3)
    expected = R.batch_norm(x, ref_mean, ref_var, w, b, training=training, momentum=0.3)
    np.testing.assert_allclose(out.numpy(), expected, **TOL)
    np.testing.assert_allclose(run_mean.numpy(), ref_mean, **TOL)
    np.testing.assert_allclose(run_var.numpy(), ref_var, **TOL)
    assert training != np.array_equal(ref_mean, mean)      # updated when training only
    g = backward(out)
    grads = [e for e in R.batch_norm_backward(g, x, ref_mean, ref_var, w, b, training=training)
             if e is not None]
    assert len(grads) == len(fast)
    for t, e, name in zip(fast, grads, ('dx', 'dweight', 'dbias')):
        np.testing.assert_allclose(t.grad.numpy(), e, **TOL, err_msg=name)


def test_reference_batch_norm_by_hand():
    x = np.array([[1.0], [3.0]])            # one channel: mean 2, biased var 1
    mean, var = np.zeros(1), np.ones(1)
    y = R.batch_norm(x, mean, var, training=True, momentum=0.5, eps=0.0)
    np.testing.assert_array_equal(y, [[-1.0], [1.0]])
    np.testing.assert_array_equal(mean, [1.0])          # 0.5 * 0 + 0.5 * 2
    np.testing.assert_array_equal(var, [1.5])           # 0.5 * 1 + 0.5 * 2 (unbiased)


# ---------------------------------------------------------------- the references' own gradients

def numerical_grad(f, a, g, eps=1e-6):
    """d sum(f(a) * g) / da by central differences."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        plus = (f(a) * g).sum()
        a[i] = old - eps
        minus = (f(a) * g).sum()
        a[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize('kwargs', [dict(stride=2, padding=1, dilation=1, groups=1),
                                    dict(stride=1, padding='same', dilation=(2, 1), groups=2)])
def test_reference_conv_backward_is_the_gradient_of_its_forward(kwargs):
    rng = np.random.default_rng(4)
    x, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal(4)
    w = rng.standard_normal((4, 2 // kwargs['groups'], 2, 3))
    g = rng.standard_normal(R.conv2d(x, w, b, **kwargs).shape)
    dx, dw, db = R.conv2d_backward(g, x, w, b, **kwargs)
    np.testing.assert_allclose(dx, numerical_grad(lambda a: R.conv2d(a, w, b, **kwargs), x, g),
                               atol=1e-7)
    np.testing.assert_allclose(dw, numerical_grad(lambda a: R.conv2d(x, a, b, **kwargs), w, g),
                               atol=1e-7)
    np.testing.assert_allclose(db, numerical_grad(lambda a: R.conv2d(x, w, a, **kwargs), b, g),
                               atol=1e-7)


@pytest.mark.parametrize('name,kwargs', [
    ('max_pool2d', dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)),
    ('max_pool2d', dict(kernel_size=2, stride=1, padding=1, dilation=2)),
    ('avg_pool2d', dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ('avg_pool2d', dict(kernel_size=3, stride=2, padding=1))])
def test_reference_pool_backward_is_the_gradient_of_its_forward(name, kwargs):
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) / 10.0   # distinct: no ties
    forward = getattr(R, name)
    g = rng.standard_normal(forward(x, **kwargs).shape)
    np.testing.assert_allclose(getattr(R, name + '_backward')(g, x, **kwargs),
                               numerical_grad(lambda a: forward(a, **kwargs), x, g), atol=1e-7)


@pytest.mark.parametrize('training', [True, False])
def test_reference_batch_norm_backward_is_the_gradient_of_its_forward(training):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2), rng.standard_normal(2)
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2.0, 2)

    def forward(x, w, b):  # copies: the running stats must stay as they are
        return R.batch_norm(x, mean.copy(), var.copy(), w, b, training=training)
    g = rng.standard_normal(x.shape)
    dx, dw, db = R.batch_norm_backward(g, x, mean, var, w, b, training=training)
    np.testing.assert_allclose(dx, numerical_grad(lambda a: forward(a, w, b), x, g), atol=1e-7)
    np.testing.assert_allclose(dw, numerical_grad(lambda a: forward(x, a, b), w, g), atol=1e-7)
    np.testing.assert_allclose(db, numerical_grad(lambda a: forward(x, w, a), b, g), atol=1e-7)
