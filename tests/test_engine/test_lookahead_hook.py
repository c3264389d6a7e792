"""LookaheadHook: every k steps slow = rho*slow + (1-rho)*fast, fast = slow; resumes exactly."""
import logging
import types

import numpy as np
import pytest

from minicls import nn
from minicls.config.errors import ConfigError
from minicls.engine.checkpoint import load_checkpoint
from minicls.engine.hooks import LookaheadHook

from ..checkpoint_runs import log_text, make_runner


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)


def fake_runner(model, epoch=0, max_iters=20):
    return types.SimpleNamespace(model=model, iter=0, epoch=epoch, max_iters=max_iters,
                                 logger=logging.getLogger('test_lookahead'))


def test_the_average_follows_the_formula_and_is_copied_back():
    net, hook = Net(), LookaheadHook(interval=2, decay=0.9, power=3, begin_epoch=1)
    runner = fake_runner(net)
    rng = np.random.default_rng(0)
    slow = None
    for it in range(12):
        runner.iter, runner.epoch = it, it // 4          # 4 steps an epoch: starts at step 5
        for p in list(net.parameters()) + [net.bn.running_mean, net.bn.running_var]:
            p.data[...] = rng.normal(size=p.shape)       # what the optimizer step did
        fast = net.fc.weight.data.copy()
        mean = net.bn.running_mean.data.copy()
        hook.after_train_iter(runner, batch_idx=it % 4)
        step = it + 1
        if runner.epoch < 1 or step % 2:                  # not an averaging step: untouched
            np.testing.assert_array_equal(net.fc.weight.data, fast)
            continue
        if slow is None:                                  # the first one takes a copy
            slow, slow_mean = fast, mean
        else:
            rho = 0.9 ** 2 * (step / 20) ** 3
            slow, slow_mean = rho * slow + (1 - rho) * fast, rho * slow_mean + (1 - rho) * mean
        np.testing.assert_allclose(net.fc.weight.data, slow, rtol=1e-6)      # copied back
        np.testing.assert_allclose(net.bn.running_mean.data, slow_mean, rtol=1e-6)
    assert int(net.bn.num_batches_tracked.data) == 0     # integers are not averaged
    net.fc.weight.data[...] = 5.0                          # the end of the epoch: the average
    hook.after_train_epoch(runner)
    np.testing.assert_allclose(net.fc.weight.data, slow, rtol=1e-6)


def test_power_0_is_a_constant_decay_and_decay_0_a_plain_copy():
    assert LookaheadHook(decay=0.95, power=0).rho(3, 100) == pytest.approx(0.95 ** 5)
    assert LookaheadHook(decay=0.0).rho(100, 100) == 0.0
    assert LookaheadHook().rho(50, 100) == pytest.approx(0.95 ** 5 / 8)


@pytest.mark.parametrize('kwargs, says', [
    (dict(interval=0), 'interval must be an integer >= 1, got 0'),
    (dict(interval='x'), "interval must be an integer >= 1, got 'x' (a str)"),
    (dict(decay=1.5), 'decay must be a number in [0, 1], got 1.5'),
    (dict(power=-1), 'power must be a number >= 0, got -1'),
    (dict(begin_epoch=-1), 'begin_epoch must be an integer >= 0, got -1')])
def test_bad_arguments(kwargs, says):
    with pytest.raises(ConfigError) as info:
        LookaheadHook(**kwargs)
    assert str(info.value) == f'LookaheadHook: {says}'


HOOK = dict(type='LookaheadHook', interval=2, begin_epoch=1)


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    whole = tmp_path / 'whole'
    make_runner(whole, [HOOK], max_epochs=3).train()
    ckpt = load_checkpoint(str(whole / 'epoch_3.npz'))
    for name, value in ckpt['lookahead_state'].items():   # the epoch ends on the average
        np.testing.assert_array_equal(ckpt['state_dict'][name], value)
    assert 'LookaheadHook: averaging from step 6 (epoch 2) every 2 steps' in log_text(whole)
    resumed = make_runner(whole, [HOOK], max_epochs=3)
    resumed.cfg.resume = str(whole / 'epoch_2.npz')
    (whole / 'epoch_3.npz').rename(whole / 'first_epoch_3.npz')
    resumed.train()
    a = load_checkpoint(str(whole / 'first_epoch_3.npz'))['state_dict']
    b = load_checkpoint(str(whole / 'epoch_3.npz'))['state_dict']
    assert all(np.array_equal(a[k], b[k]) for k in a)
    plain = tmp_path / 'plain'                            # and the hook did change the run
    make_runner(plain, [], max_epochs=3).train()
    c = load_checkpoint(str(plain / 'epoch_3.npz'))['state_dict']
    assert not np.array_equal(a['head.fc.weight'], c['head.fc.weight'])


def test_a_state_that_does_not_fit_the_model_is_refused():
    hook = LookaheadHook()
    with pytest.raises(ValueError, match='does not match the model'):  # resume: CheckpointError
        hook.after_load_checkpoint(fake_runner(Net()), {'lookahead_state': {'fc.weight': 0}})


def test_update_buffers_false_leaves_the_bn_statistics_alone():
    net, hook = Net(), LookaheadHook(interval=1, decay=0.9, power=0, update_buffers=False)
    runner = fake_runner(net)
    hook.after_train_iter(runner, batch_idx=0)                  # the copy
    net.fc.weight.data[...] = 1.0
    net.bn.running_mean.data[...] = 7.0
    runner.iter = 1
    hook.after_train_iter(runner, batch_idx=1)
    assert set(hook.slow) == {'fc.weight', 'fc.bias', 'bn.weight', 'bn.bias'}
    np.testing.assert_array_equal(net.bn.running_mean.numpy(), 7.0)     # not averaged
    assert not np.allclose(net.fc.weight.numpy(), 1.0)                  # averaged
