"""nn.Module, Parameter and the containers: registration, iterators, modes, devices, state_dict.

The models here use only engine ops (matmul, add), so they test the Module machinery alone.
"""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import minicls
from minicls import nn


class Affine(nn.Module):
    """y = x @ w.T + b, plus a persistent buffer and a non-persistent one."""

    def __init__(self, n_in=3, n_out=2):
        super().__init__()
        self.w = nn.Parameter(minicls.randn(n_out, n_in))
        self.b = nn.Parameter(minicls.zeros(n_out))
        self.register_buffer('count', minicls.zeros(n_out, dtype=minicls.int64))
        self.register_buffer('scratch', minicls.ones(1), persistent=False)

    def forward(self, x):
        return x @ self.w.T + self.b


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Affine(3, 4)
        self.scale = nn.Parameter(minicls.ones(1))
        self.body = nn.Sequential(Affine(4, 4), Affine(4, 2))

    def forward(self, x):
        return self.body(self.first(x) * self.scale)


# -- Parameter and registration -------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(minicls.zeros(2, 3))
    assert isinstance(p, minicls.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(minicls.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith('Parameter containing:\ntensor(')
    t = minicls.ones(3)
    assert nn.Parameter(t).data is t.data  # shares, no copy


def test_setattr_registers_parameters_modules_and_buffers():
    m = Affine()
    assert list(m._parameters) == ['w', 'b']
    assert list(m._buffers) == ['count', 'scratch']
    assert m.w is m._parameters['w'] and 'w' not in m.__dict__
    m.plain = minicls.ones(2)  # a plain Tensor is a plain attribute
    assert 'plain' not in m._buffers and 'plain' not in m._parameters
    m.count = minicls.ones(2)  # assigning to a buffer name replaces the buffer
    assert m._buffers['count'] is m.count
    net = Net()
    assert list(net._modules) == ['first', 'body']
    net.add_module('extra', nn.Identity())
    net.register_module('extra2', nn.Identity())
    assert list(net._modules)[-2:] == ['extra', 'extra2']


def test_registration_errors_say_what_to_do():
    m = Affine()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = minicls.ones(2, 3)
    m.w = None  # allowed: an absent parameter
    assert m.w is None and 'w' not in dict(m.named_parameters())
    with pytest.raises(TypeError, match='nn.Parameter'):
        m.register_parameter('q', minicls.ones(1))
    with pytest.raises(KeyError, match='"."'):
        m.register_buffer('a.b', minicls.ones(1))
    with pytest.raises(TypeError, match='is not a Module subclass'):
        m.add_module('x', 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minicls.ones(1))

    with pytest.raises(AttributeError, match=r'super\(\).__init__\(\)'):
        Early()


def test_getattr_delattr_dir():
    m = Affine()
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'nope'"):
        m.nope  # noqa: B018
    assert {'w', 'b', 'count', 'forward'} <= set(dir(m))
    del m.w
    assert 'w' not in m._parameters
    with pytest.raises(AttributeError):
        m.w  # noqa: B018
    seq = nn.Sequential(nn.Identity())
    assert '0' not in dir(seq)


def test_reassigning_moves_between_tables():
    m = Affine()
    m.count = nn.Parameter(minicls.ones(2))  # a buffer name now holds a Parameter
    assert 'count' not in m._buffers and m._parameters['count'] is m.count
    m.note = 'plain'
    m.note = nn.Identity()  # a plain attribute becomes a child
    assert 'note' not in m.__dict__ and m._modules['note'] is m.note
    with pytest.raises(TypeError, match="cannot assign 'Identity' as parameter 'b'"):
        m.b = nn.Identity()  # as PyTorch: a parameter slot takes a Parameter or None


# -- iterators ---------------------------------------------------------------------------------
def test_named_parameters_buffers_and_their_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        'scale', 'first.w', 'first.b', 'body.0.w', 'body.0.b', 'body.1.w', 'body.1.b']
    assert [n for n, _ in net.named_parameters(recurse=False)] == ['scale']
    assert [n for n, _ in net.named_parameters(prefix='model')][0] == 'model.scale'
    assert [n for n, _ in net.named_buffers()] == [
        'first.count', 'first.scratch', 'body.0.count', 'body.0.scratch', 'body.1.count',
        'body.1.scratch']
    assert len(list(net.parameters())) == 7 and len(list(net.buffers())) == 6
    assert all(p is q for p, (_, q) in zip(net.parameters(), net.named_parameters()))


def test_children_and_modules():
    net = Net()
    assert [n for n, _ in net.named_children()] == ['first', 'body']
    assert list(net.children()) == [net.first, net.body]
    assert [n for n, _ in net.named_modules()] == ['', 'first', 'body', 'body.0', 'body.1']
    assert len(list(net.modules())) == 5
    assert net.get_submodule('body.1') is net.body[1]


def test_shared_parameters_and_modules_are_listed_once():
    layer = Affine()
    seq = nn.Sequential(layer, layer)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ['', '0']
    assert len(list(seq.children())) == 1


# -- modes, grads, apply ---------------------------------------------------------------------------
def test_train_eval_recursive_and_return_self():
    net = Net()
    assert net.training and net.body[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.body.train(False)
    assert net.training and not net.body[0].training
    with pytest.raises(ValueError):
        net.train('yes')


def test_zero_grad_and_requires_grad():
    net = Net()
    net(minicls.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net.first.requires_grad_()
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ['first.w', 'first.b']


def test_apply_visits_children_first_then_self():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ['Affine', 'Affine', 'Affine', 'Sequential', 'Net']


def test_forward_hooks():
    m = Affine()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append('pre'))
    h2 = m.register_forward_hook(lambda mod, args, out: out * 0)
    out = m(minicls.randn(2, 3))
    assert calls == ['pre'] and not out.numpy().any()
    h1.remove()
    h2.remove()
    assert m(minicls.ones(2, 3)).numpy().any()


def test_forward_missing_says_so():
    with pytest.raises(NotImplementedError, match='forward'):
        nn.Module()(1)


# -- dtype and device ------------------------------------------------------------------------------
def test_to_dtype_casts_floats_in_place_and_keeps_counters():
    net = Net()
    params = list(net.parameters())
    net(minicls.randn(2, 3)).sum().backward()
    assert net.double() is net
    assert all(p is q for p, q in zip(params, net.parameters()))  # same objects (optimisers)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.first.count.dtype == np.int64
    assert net(minicls.randn(2, 3).double()).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in params)
    with pytest.raises(TypeError, match='floating point'):
        net.to(minicls.int64)
    assert net.to(dtype=minicls.float64, non_blocking=True).scale.dtype == np.float64
    with pytest.raises(TypeError, match='unexpected keyword'):
        net.to(devise='cpu')


def test_to_device_moves_params_grads_and_buffers(cuda):
    net = Net()
    net(minicls.randn(2, 3)).sum().backward()
    before = net.state_dict()
    assert net.cuda() is net
    assert all(t.device.startswith('cuda') for t in list(net.parameters()) + list(net.buffers()))
    assert all(p.grad.device.startswith('cuda') for p in net.parameters())
    out = net(minicls.randn(2, 3).to('cuda'))
    assert out.device.startswith('cuda')
    sd = net.state_dict()  # host copies
    assert all(type(v) is np.ndarray for v in sd.values())
    net.cpu()
    assert all(t.device == 'cpu' for t in net.parameters())
    for k in before:
        np.testing.assert_array_equal(before[k], sd[k])
    # load a host state dict into a module on the device
    net.cuda()
    net.load_state_dict(before)
    assert net.first.w.device.startswith('cuda')
    np.testing.assert_array_equal(net.state_dict()['first.w'], before['first.w'])


# -- state dict ------------------------------------------------------------------------------------
def test_state_dict_keys_order_and_copies():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ['scale', 'first.w', 'first.b', 'first.count', 'body.0.w', 'body.0.b',
                        'body.0.count', 'body.1.w', 'body.1.b', 'body.1.count']
    assert all(type(v) is np.ndarray for v in sd.values())
    sd['first.w'][...] = 7  # a copy: the model is untouched
    assert not (net.first.w.numpy() == 7).any()
    assert net.state_dict(keep_vars=True)['first.w'] is net.first.w
    assert list(net.first.state_dict(prefix='x.')) == ['x.w', 'x.b', 'x.count']


def test_state_dict_round_trip_into_a_fresh_model():
    minicls.manual_seed(0)
    a = Net()
    a.first.count.data[...] = 5
    b = Net()
    x = minicls.randn(4, 3)
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    w_b = b.first.w
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == '<All keys matched successfully>'
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert b.first.w is w_b  # copied into the existing Parameter
    np.testing.assert_array_equal(b.first.count.numpy(), [5, 5, 5, 5])
    assert b.first.count.dtype == np.int64


def test_load_accepts_tensors_and_keeps_dtype():
    m = Affine()
    sd = {k: minicls.tensor(v) for k, v in m.state_dict().items()}
    sd['w'] = np.full((2, 3), 1.5, dtype=np.float64)
    m.load_state_dict(sd)
    assert m.w.dtype == np.float32 and (m.w.numpy() == 1.5).all()


def test_strict_loading_lists_missing_and_unexpected():
    m = Net()
    sd = m.state_dict()
    del sd['first.b']
    del sd['scale']
    sd['head.fc.weight'] = np.zeros(3)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(sd)
    text = str(err.value)
    assert 'Error(s) in loading state_dict for Net' in text
    assert 'Missing key(s) in state_dict: "scale", "first.b"' in text
    assert 'Unexpected key(s) in state_dict: "head.fc.weight"' in text
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ['scale', 'first.b']
    assert result.unexpected_keys == ['head.fc.weight']
    missing, unexpected = result  # unpacks like PyTorch's NamedTuple
    assert missing == ['scale', 'first.b']


def test_shape_mismatch_names_key_and_both_shapes_even_non_strict():
    m = Net()
    sd = m.state_dict()
    sd['body.1.w'] = np.zeros((5, 4), dtype=np.float32)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r'size mismatch for body\.1\.w: copying a param '
                           r'with shape \(5, 4\) from checkpoint, the shape in current model is '
                           r'\(2, 4\)'):
            m.load_state_dict(sd, strict=strict)
    with pytest.raises(TypeError, match='dict'):
        m.load_state_dict([1, 2])


def test_non_persistent_buffer_not_saved_nor_expected():
    m = Affine()
    assert 'scratch' not in m.state_dict() and 'scratch' in dict(m.named_buffers())
    m.load_state_dict(m.state_dict())  # strict: must not ask for 'scratch'


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    twin.first.w.data[...] = 0
    assert net.first.w.numpy().any()
    assert type(twin.first.w) is nn.Parameter


# -- containers ------------------------------------------------------------------------------------
def test_sequential_indexing_slicing_and_append():
    a, b, c = Affine(3, 3), nn.Identity(), Affine(3, 2)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ['1', '2']
    with pytest.raises(IndexError, match='length 3'):
        seq[3]  # noqa: B018
    seq.append(nn.Identity())
    assert list(seq._modules) == ['0', '1', '2', '3']
    x = minicls.randn(2, 3)
    np.testing.assert_allclose(seq(x).numpy(), c(a(x)).numpy())
    seq[1] = nn.Identity()
    del seq[3]
    assert len(seq) == 3
    named = nn.Sequential(OrderedDict(conv=a, act=b))
    assert list(named.state_dict())[:2] == ['conv.w', 'conv.b']
    assert 'Sequential(\n  (conv): Affine()\n  (act): Identity()\n)' == repr(named)


def test_module_list():
    ml = nn.ModuleList([Affine(), Affine()])
    ml.append(nn.Identity())
    ml.extend([nn.Identity()])
    assert len(ml) == 4 and isinstance(ml[-1], nn.Identity)
    assert [n for n, _ in ml.named_parameters()] == ['0.w', '0.b', '1.w', '1.b']
    assert isinstance(ml[:2], nn.ModuleList) and len(ml[:2]) == 2
    del ml[0]
    assert list(ml._modules) == ['0', '1', '2']  # renumbered
    ml.insert(0, Affine())
    assert isinstance(ml[0], Affine) and len(ml) == 4


def test_module_dict():
    md = nn.ModuleDict({'a': Affine(), 'b': nn.Identity()})
    md['c'] = nn.Identity()
    assert list(md) == ['a', 'b', 'c'] and 'a' in md and len(md) == 3
    assert list(md.keys()) == ['a', 'b', 'c'] and md['a'] is md.a
    assert [n for n, _ in md.named_parameters()] == ['a.w', 'a.b']
    assert isinstance(md.pop('b'), nn.Identity) and list(md) == ['a', 'c']
    with pytest.raises(KeyError, match="'zz' is not in this ModuleDict"):
        md['zz']  # noqa: B018


def test_identity_accepts_any_args():
    x = minicls.randn(2)
    assert nn.Identity(3, foo=1)(x) is x
