"""Layer classes vs torch.nn: same state_dict keys and shapes, same repr, and with the weights
copied through state_dict the same forward, input gradient and parameter gradients.
BatchNorm also: the same running statistics after two training steps and the same eval output.
"""
import numpy as np
import pytest

import minicls
from minicls import nn

torch = pytest.importorskip('torch')

RTOL, ATOL = 1e-4, 1e-5


def _pair_of_layers(spec):
    """``spec = ('Conv2d', args, kwargs)`` -> (minicls layer, torch layer with its weights)."""
    name, args, kwargs = spec
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    sd = ours.state_dict()
    assert list(sd) == list(theirs.state_dict()), 'state_dict keys differ from torch'
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    return ours, theirs


def _run(ours, theirs, x, seed=0):
    """Forward both on x, backward a random output gradient; return both results."""
    xm = minicls.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    assert ym.shape == tuple(yt.shape)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = np.random.default_rng(seed).standard_normal(yt.shape).astype(np.float32)
    ym.backward(minicls.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=RTOL, atol=ATOL)
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.numpy(), p.grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=f'grad of {name}')


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


LAYERS = [
    (('Linear', (5, 3), {}), (4, 5)),
    (('Linear', (5, 3), dict(bias=False)), (2, 6, 5)),
    (('Conv2d', (3, 8, 3), dict(padding=1)), (2, 3, 7, 7)),
    (('Conv2d', (4, 6, (3, 2)), dict(stride=2, padding=(1, 0))), (2, 4, 8, 7)),
    (('Conv2d', (4, 6, 3), dict(groups=2, dilation=2, padding=2, bias=False)), (1, 4, 9, 8)),
    (('Conv2d', (4, 4, 3), dict(groups=4, stride=3)), (2, 4, 8, 8)),  # depthwise, stride 3
    (('Conv2d', (1, 2, 1), {}), (1, 1, 4, 5)),
    (('LayerNorm', ((4, 5),), {}), (3, 4, 5)),
    (('LayerNorm', (6,), dict(elementwise_affine=False)), (3, 6)),
    (('GroupNorm', (2, 6), {}), (3, 6, 4, 3)),
    (('GroupNorm', (3, 3), dict(affine=False, eps=1e-3)), (2, 3, 5)),
    (('ReLU', (), {}), (4, 6)),
    (('Tanh', (), {}), (4, 6)),
    (('Sigmoid', (), {}), (4, 6)),
    (('GELU', (), {}), (4, 6)),
    (('GELU', (), dict(approximate='tanh')), (4, 6)),
    (('SiLU', (), {}), (4, 6)),
    (('ReLU6', (), {}), (4, 6)),
    (('Hardsigmoid', (), {}), (4, 6)),
    (('Hardswish', (), {}), (4, 6)),
    (('LeakyReLU', (0.2,), {}), (4, 6)),
    (('Softmax', (), dict(dim=1)), (4, 6, 2)),
    (('LogSoftmax', (), dict(dim=-1)), (4, 6)),
    (('Flatten', (), {}), (2, 3, 4, 5)),
    (('Flatten', (), dict(start_dim=2)), (2, 3, 4, 5)),
    (('Identity', (), {}), (3, 4)),
    (('MaxPool2d', (3,), dict(stride=2, padding=1)), (2, 3, 7, 6)),  # pads with -inf
    (('MaxPool2d', (2,), dict(ceil_mode=True)), (1, 2, 5, 5)),
    (('AvgPool2d', (2,), {}), (2, 3, 6, 6)),
    (('AvgPool2d', (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
     (2, 2, 6, 7)),
    (('AdaptiveAvgPool2d', (1,), {}), (2, 3, 5, 4)),
    (('AdaptiveAvgPool2d', ((2, 3),), {}), (2, 3, 5, 7)),
    (('AdaptiveAvgPool1d', (3,), {}), (2, 3, 7)),
    (('AdaptiveAvgPool3d', (1,), {}), (2, 3, 2, 5, 4)),
    (('AdaptiveAvgPool3d', ((1, 2, None),), {}), (1, 2, 3, 5, 4)),
    (('Dropout', (0.3,), {}), (4, 5)),  # compared in eval mode: the identity
    (('Upsample', (), dict(scale_factor=2)), (2, 3, 3, 4)),
    (('Upsample', (), dict(size=(5, 7), mode='bicubic', align_corners=True)), (1, 2, 4, 3)),
]


@pytest.mark.parametrize('spec,shape', LAYERS, ids=lambda v: v[0] if isinstance(v[0], str)
                         else None)
def test_layer_matches_torch(spec, shape):
    ours, theirs = _pair_of_layers(spec)
    assert repr(ours) == repr(theirs)
    if spec[0] == 'Dropout':
        ours.eval(), theirs.eval()
    _run(ours, theirs, _x(*shape))


@pytest.mark.parametrize('name,shape,kwargs', [
    ('BatchNorm2d', (4, 3, 5, 5), {}),
    ('BatchNorm2d', (2, 3, 3, 2), dict(momentum=None, eps=1e-3)),
    ('BatchNorm1d', (6, 4), dict(momentum=0.3)),
    ('BatchNorm1d', (3, 4, 5), {}),
    ('BatchNorm2d', (4, 3, 2, 2), dict(affine=False)),
    ('BatchNorm2d', (4, 3, 2, 2), dict(track_running_stats=False)),
])
def test_batchnorm_two_train_steps_then_eval(name, shape, kwargs):
    ours, theirs = _pair_of_layers((name, (shape[1],), kwargs))
    assert repr(ours) == repr(theirs)
    for step in range(2):  # different batches, with a non-zero mean and non-unit variance
        x = 3 * _x(*shape, seed=step) + step + 1
        _run(ours, theirs, x, seed=step)
        ours.zero_grad()
        theirs.zero_grad()
    sd_t = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, sd_t[key].numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
        assert value.dtype == sd_t[key].numpy().dtype, key
    if ours.track_running_stats:
        assert ours.num_batches_tracked.item() == 2
    ours.eval(), theirs.eval()
    _run(ours, theirs, _x(*shape, seed=9) * 2 + 1)


def test_batchnorm_is_a_BatchNorm_and_checks_input():
    from minicls.nn import _BatchNorm
    bn = nn.BatchNorm2d(3)
    assert isinstance(bn, _BatchNorm) and isinstance(nn.BatchNorm1d(2), _BatchNorm)
    assert '_BatchNorm' in [c.__name__ for c in type(bn).__mro__]
    with pytest.raises(ValueError, match=r'expected 4D input .* got 2D input'):
        bn(minicls.randn(2, 3))
    with pytest.raises(RuntimeError, match=r'expected input with 3 channels.*\(2, 5, 4, 4\)'):
        bn(minicls.randn(2, 5, 4, 4))
    with pytest.raises(ValueError, match='2D or 3D'):
        nn.BatchNorm1d(3)(minicls.randn(2, 3, 4, 4))


def test_batchnorm_loads_a_checkpoint_without_num_batches_tracked():
    bn = nn.BatchNorm2d(3)
    sd = bn.state_dict()
    del sd['num_batches_tracked']
    sd['running_mean'][:] = 0.5
    assert bn.load_state_dict(sd).missing_keys == []  # as PyTorch for old checkpoints
    assert (bn.running_mean.numpy() == 0.5).all() and bn.num_batches_tracked.item() == 0


def test_repr_of_options_as_torch():
    # (ReLU(inplace=True) is not in LAYERS: torch refuses in-place on a leaf input)
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True)) == 'ReLU(inplace=True)'
    for args, kwargs in [((4,), dict(bias=False)), ((4,), dict(affine=False))]:
        assert repr(nn.BatchNorm2d(*args, **kwargs)) == repr(torch.nn.BatchNorm2d(*args, **kwargs))
        assert list(nn.BatchNorm2d(*args, **kwargs).state_dict()) == \
            list(torch.nn.BatchNorm2d(*args, **kwargs).state_dict())
    assert repr(nn.GroupNorm(2, 4, bias=False)) == repr(torch.nn.GroupNorm(2, 4, bias=False))
    assert repr(nn.LayerNorm(3, bias=False)) == repr(torch.nn.LayerNorm(3, bias=False))


def test_softmax_without_dim_picks_torchs_legacy_dim():
    for shape in [(2, 3, 4), (2, 3)]:
        x = _x(*shape)
        with pytest.warns(UserWarning, match='Implicit dimension'):
            ours = nn.Softmax()(minicls.tensor(x)).numpy()
        with pytest.warns(UserWarning):
            theirs = torch.nn.Softmax()(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_dropout_train_zeroes_and_rescales():
    minicls.manual_seed(0)
    drop = nn.Dropout(0.25)
    y = drop(minicls.ones(200, 100)).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.02)
    x = minicls.randn(3, 4)
    assert np.array_equal(drop.eval()(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match='between 0 and 1'):
        nn.Dropout(1.5)


# -- losses ----------------------------------------------------------------------------------------
def _loss_pair(name, kwargs_ours, kwargs_torch=None):
    theirs = getattr(torch.nn, name)(**(kwargs_ours if kwargs_torch is None else kwargs_torch))
    return getattr(nn, name)(**kwargs_ours), theirs


@pytest.mark.parametrize('name,kwargs,target', [
    ('CrossEntropyLoss', {}, 'class'),
    ('CrossEntropyLoss', dict(label_smoothing=0.1, reduction='sum'), 'class'),
    ('CrossEntropyLoss', dict(weight=[1.0, 2.0, 0.5, 1.0], ignore_index=1), 'class'),
    ('CrossEntropyLoss', {}, 'prob'),
    ('NLLLoss', dict(reduction='none'), 'class'),
    ('MSELoss', {}, 'same'),
    ('L1Loss', dict(reduction='sum'), 'same'),
    ('BCEWithLogitsLoss', dict(pos_weight=[2.0, 1.0, 0.5, 1.0]), 'binary'),
])
def test_loss_matches_torch(name, kwargs, target):
    rng = np.random.default_rng(3)
    wrap_m = {k: minicls.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    wrap_t = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    ours, theirs = getattr(nn, name)(**wrap_m), getattr(torch.nn, name)(**wrap_t)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    if target == 'class':
        t = np.array([0, 1, 2, 3, 1, 2])
    elif target == 'prob':
        t = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
    elif target == 'binary':
        t = (rng.random((6, 4)) > 0.5).astype(np.float32)
    else:
        t = rng.standard_normal((6, 4)).astype(np.float32)
    xm, xt = minicls.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lm, lt = ours(xm, minicls.tensor(t)), theirs(xt, torch.tensor(t))
    np.testing.assert_allclose(lm.numpy(), lt.detach().numpy(), rtol=RTOL, atol=ATOL)
    lm.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_loss_weight_is_a_buffer():
    loss = nn.CrossEntropyLoss(weight=minicls.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ['weight']
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    with pytest.raises(ValueError, match='reduction'):
        nn.MSELoss(reduction='avg')


# -- errors a learner can act on ---------------------------------------------------------------
def test_conv2d_input_errors():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match=r'4-D input \(N, C, H, W\).*3-D input of shape '
                       r'\(3, 8, 8\).*unsqueeze\(0\)'):
        conv(minicls.randn(3, 8, 8))
    with pytest.raises(RuntimeError, match=r'unsqueeze\(1\)'):
        nn.Conv2d(1, 4, 3)(minicls.randn(5, 8, 8))  # grayscale without channel axis
    with pytest.raises(RuntimeError, match=r'expected input with 3 channels .* got 1 channels'):
        conv(minicls.randn(2, 1, 8, 8))


def test_conv2d_constructor_checks():
    with pytest.raises(ValueError, match='in_channels .* divisible by groups'):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match='out_channels .* divisible by groups'):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(NotImplementedError, match='padding_mode'):
        nn.Conv2d(3, 6, 3, padding_mode='reflect')
    conv = nn.Conv2d(3, 6, 5, padding='same', bias=False)
    assert conv.padding == 'same' and conv.bias is None and 'bias' not in conv.state_dict()
    assert conv.weight.shape == (6, 3, 5, 5) and conv.kernel_size == (5, 5)
    # The padding is checked where F.conv2d checks it, when the layer is made.
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding='same')
    with pytest.raises(ValueError, match="'valid' or 'same', got 'full'"):
        nn.Conv2d(3, 6, 3, padding='full')
    with pytest.raises(ValueError, match='negative padding'):
        nn.Conv2d(3, 6, 3, padding=-1)
    with pytest.raises(TypeError, match=r'kernel_size must be an int or a pair.*\(1, 2, 3\)'):
        nn.Conv2d(3, 6, (1, 2, 3))


@pytest.mark.filterwarnings('ignore:Using padding=.same. with even kernel')
@pytest.mark.parametrize('kernel_size, dilation', [(2, 1), ((2, 3), (1, 2)), (4, 3), (3, 1)])
def test_conv2d_layer_padding_same_matches_the_function(kernel_size, dilation):
    """nn.Conv2d and F.conv2d share one 'same' padding (an even kernel pads one more at the
    bottom/right, as PyTorch); compared with torch too when it is installed."""
    conv = nn.Conv2d(2, 3, kernel_size, padding='same', dilation=dilation).double()
    x = minicls.randn(2, 2, 5, 6).double()
    out = conv(x)
    assert out.shape == (2, 3, 5, 6)
    expected = nn.functional.conv2d(x, conv.weight, conv.bias, padding='same', dilation=dilation)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    torch = pytest.importorskip('torch')
    ref = torch.nn.functional.conv2d(torch.from_numpy(x.numpy()),
                                     torch.from_numpy(conv.weight.detach().numpy()),
                                     torch.from_numpy(conv.bias.detach().numpy()),
                                     padding='same', dilation=dilation)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_input_error_suggests_flatten():
    with pytest.raises(RuntimeError, match=r'last dimension is 784.*\(2, 1, 28, 28\).*flatten'):
        nn.Linear(784, 10)(minicls.randn(2, 1, 28, 28))


def test_group_and_layer_norm_errors():
    with pytest.raises(ValueError, match='divisible by num_groups'):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match='last 1 dim'):
        nn.LayerNorm(5)(minicls.randn(2, 4))
