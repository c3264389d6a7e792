"""Optimizers: PyTorch parity over several steps, param groups, state_dict, optim_wrapper."""
import numpy as np
import pytest

import minicls
from minicls.engine import SGD, Adam, AdamW, build_optim_wrapper
from minicls.engine.optim import clip_grad_norm_
from minicls.registry import OPTIMIZERS


def _run(make_opt, torch, torch_cls, steps=6, **kw):
    """Run the same fake gradients through both optimizers; return both parameter lists."""
    rng = np.random.default_rng(0)
    inits = [rng.standard_normal((3, 4)).astype(np.float32),
             rng.standard_normal((4,)).astype(np.float32)]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in inits]
             for _ in range(steps)]
    ours = [minicls.tensor(a.copy(), requires_grad=True) for a in inits]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inits]
    opt, topt = make_opt(ours, **kw), torch_cls(theirs, **kw)
    for g in grads:
        for p, t, gi in zip(ours, theirs, g):
            p.grad = minicls.tensor(gi.copy())
            t.grad = torch.tensor(gi.copy())
        opt.step()
        topt.step()
    return ours, theirs


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
             dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
             dict(lr=0.1, weight_decay=0.1)]
ADAM_CASES = [dict(lr=1e-2), dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
              dict(lr=1e-2, amsgrad=True)]


@pytest.mark.parametrize('kw', SGD_CASES)
def test_sgd_matches_torch(kw):
    torch = pytest.importorskip('torch')
    ours, theirs = _run(SGD, torch, torch.optim.SGD, **kw)
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls_name', ['Adam', 'AdamW'])
@pytest.mark.parametrize('kw', ADAM_CASES)
def test_adam_matches_torch(cls_name, kw):
    torch = pytest.importorskip('torch')
    ours, theirs = _run({'Adam': Adam, 'AdamW': AdamW}[cls_name], torch,
                        getattr(torch.optim, cls_name), **kw)
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sgd_by_hand():
    p = minicls.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([p], lr=0.5, momentum=0.9)
    for _ in range(2):
        p.grad = minicls.tensor([1.0, 1.0])
        opt.step()
    # buf1 = 1, p = 1 - 0.5; buf2 = 0.9 + 1 = 1.9, p = 0.5 - 0.95
    np.testing.assert_allclose(p.numpy(), [1 - 0.5 - 0.95, 2 - 0.5 - 0.95], rtol=1e-6)


def test_param_groups_and_zero_grad_and_skip_none():
    a = minicls.tensor([1.0], requires_grad=True)
    b = minicls.tensor([1.0], requires_grad=True)
    opt = SGD([{'params': [a]}, {'params': [b], 'lr': 1.0}], lr=0.1)
    assert opt.param_groups[0]['lr'] == 0.1 and opt.param_groups[1]['lr'] == 1.0
    a.grad = minicls.tensor([1.0])
    opt.step()  # b has no grad: unchanged
    np.testing.assert_allclose(a.numpy(), [0.9], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [1.0])
    opt.zero_grad()
    assert a.grad is None
    with pytest.raises(ValueError, match='more than one'):
        SGD([{'params': [a]}, {'params': [a]}], lr=0.1)
    with pytest.raises(ValueError, match='empty'):
        SGD([], lr=0.1)


@pytest.mark.parametrize('cls', [SGD, Adam])
def test_state_dict_round_trip_continues_identically(cls):
    kw = dict(lr=0.1, momentum=0.9) if cls is SGD else dict(lr=0.1)
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(3).astype(np.float32) for _ in range(4)]
    p1 = minicls.tensor(np.ones(3, np.float32), requires_grad=True)
    opt1 = cls([p1], **kw)
    for g in grads[:2]:
        p1.grad = minicls.tensor(g)
        opt1.step()
    state = opt1.state_dict()
    assert all(isinstance(v, (np.ndarray, int)) for v in state['state'][0].values())
    p2 = minicls.tensor(p1.numpy().copy(), requires_grad=True)
    opt2 = cls([p2], lr=999.0)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]['lr'] == 0.1
    for g in grads[2:]:
        for p, o in ((p1, opt1), (p2, opt2)):
            p.grad = minicls.tensor(g)
            o.step()
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())


def test_registry_build_with_default_params():
    p = minicls.tensor([1.0], requires_grad=True)
    opt = OPTIMIZERS.build(dict(type='SGD', lr=0.1), default_args=dict(params=[p]))
    assert isinstance(opt, SGD) and opt.param_groups[0]['lr'] == 0.1
    assert isinstance(OPTIMIZERS.build(dict(type='AdamW', lr=1e-3),
                                       default_args=dict(params=[p])), AdamW)


class _Norm:  # stand-ins with the Module methods the builder uses
    def __init__(self):
        self.weight = minicls.tensor(np.ones(2, np.float32), requires_grad=True)
        self.bias = minicls.tensor(np.zeros(2, np.float32), requires_grad=True)

    def named_parameters(self, recurse=False):
        return [('weight', self.weight), ('bias', self.bias)]


class BatchNorm2d(_Norm):
    pass


class Conv2d(_Norm):
    pass


class _Model:
    def __init__(self):
        self.conv, self.bn = Conv2d(), BatchNorm2d()

    def named_modules(self):
        return [('', self), ('conv', self.conv), ('bn', self.bn)]

    def named_parameters(self, recurse=False):
        return []

    def parameters(self):
        return [self.conv.weight, self.conv.bias, self.bn.weight, self.bn.bias]


def test_optim_wrapper_paramwise_cfg():
    model = _Model()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
        paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0)))
    decay = {id(g['params'][0]): g['weight_decay'] for g in wrapper.param_groups}
    assert decay[id(model.conv.weight)] == 1e-4
    assert decay[id(model.conv.bias)] == 0
    assert decay[id(model.bn.weight)] == 0 and decay[id(model.bn.bias)] == 0
    plain = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    assert len(plain.param_groups) == 1 and len(plain.param_groups[0]['params']) == 4
    with pytest.raises(KeyError, match='optimizer'):
        build_optim_wrapper(model, dict(paramwise_cfg={}))


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip('torch')
    g = [np.array([3.0, 4.0], np.float32), np.array([12.0], np.float32)]
    ps = [minicls.tensor(np.zeros_like(a), requires_grad=True) for a in g]
    ts = [torch.zeros(a.shape, requires_grad=True) for a in g]
    for p, t, a in zip(ps, ts, g):
        p.grad, t.grad = minicls.tensor(a.copy()), torch.tensor(a.copy())
    total = clip_grad_norm_(ps, max_norm=1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, max_norm=1.0)
    assert isinstance(total, minicls.Tensor) and total.ndim == 0       # a Tensor, as torch's
    assert float(total) == pytest.approx(13.0) and float(ttotal) == pytest.approx(13.0)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize('norm_type', [2.0, 1.0, float('inf')])
@pytest.mark.parametrize('max_norm', [0.5, 100.0])       # clipped, and left as they are
def test_clip_grad_norm_on_the_device_gives_the_cpu_result(norm_type, max_norm, cuda):
    rng = np.random.default_rng(0)
    g = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,), (0,))]
    results = []
    for device in ('cpu', cuda):
        ps = [minicls.tensor(np.zeros_like(a), requires_grad=True) for a in g]
        for p, a in zip(ps, g):
            p.grad = minicls.tensor(a.copy()).to(device)
        total = clip_grad_norm_(ps, max_norm=max_norm, norm_type=norm_type)
        assert total.device == ps[0].grad.device
        results.append((float(total), [p.grad.numpy() for p in ps]))
    flat = np.concatenate([a.ravel() for a in g])
    expected = np.abs(flat).max() if norm_type == float('inf') else \
        (np.abs(flat.astype(np.float64)) ** norm_type).sum() ** (1 / norm_type)
    assert results[0][0] == pytest.approx(expected, rel=1e-6)
    assert results[1][0] == pytest.approx(expected, rel=1e-5)
    scale = min(1.0, max_norm / (expected + 1e-6))
    for (_, grads) in results:
        for got, a in zip(grads, g):
            np.testing.assert_allclose(got, a * scale, rtol=1e-5)


def _stepped(cls, *shapes, **kw):
    params = [minicls.tensor(np.ones(s, np.float32), requires_grad=True) for s in shapes]
    opt = cls(params, lr=0.1, **kw)
    for p in params:
        p.grad = minicls.tensor(np.ones(p.shape, np.float32))
    opt.step()
    return opt


@pytest.mark.parametrize('saved, says', [
    (lambda: _stepped(SGD, 3, 2, momentum=0.9).state_dict() | dict(param_groups=[]),
     r'loaded state dict has a different number of parameter groups \(0; this optimizer has 1\)'),
    (lambda: _stepped(SGD, 3, 2, 4, momentum=0.9).state_dict(),
     "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
     r"group \(group 0: 3 parameters, this optimizer's has 2\)"),
    (lambda: _stepped(SGD, 3, 2, momentum=0.9).state_dict(),
     'loaded state dict was not saved by Adam: its parameter group 0 has no amsgrad, betas, '
     'eps'),
    (lambda: _stepped(Adam, 3, 5).state_dict(),
     r'loaded state dict has a exp_avg of shape \(5,\) for parameter 1, of shape \(2,\)'),
])
def test_a_state_that_does_not_fit_is_a_value_error_and_loads_nothing(saved, says):
    """As PyTorch: a ValueError (a resume turns it into a CheckpointError naming the file)."""
    opt = _stepped(Adam, 3, 2)
    opt.param_groups[0]['lr'] = 0.5
    before = {k: v.copy() for k, v in opt.state[id(opt.param_groups[0]['params'][1])].items()
              if k != 'step'}
    with pytest.raises(ValueError, match=says):
        opt.load_state_dict(saved())
    assert opt.param_groups[0]['lr'] == 0.5 and 'momentum' not in opt.param_groups[0]
    after = opt.state[id(opt.param_groups[0]['params'][1])]
    assert all(np.array_equal(after[k], v) for k, v in before.items())
