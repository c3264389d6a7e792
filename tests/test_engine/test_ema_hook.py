"""ExponentialMovingAverage and EMAHook: mmengine's formula, swapping, checkpoints."""
import logging
import types

import numpy as np
import pytest

from minicls import nn
from minicls.engine.hooks import EMAHook
from minicls.models.utils import ExponentialMovingAverage


def model_with(value):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    set_to(model, value)
    return model


def set_to(model, value):
    for p in model.parameters():
        p.data = np.full_like(p.data, value)
    model[1].running_mean.data = np.full(2, value, dtype=np.float32)


def test_update_is_mmengines_formula():
    model = model_with(1.0)
    ema = ExponentialMovingAverage(model, momentum=0.1, interval=2)
    expected = None
    for step, value in enumerate([1.0, 3.0, 5.0, 7.0, 9.0]):
        set_to(model, value)
        ema.update_parameters(model)
        if step == 0:
            expected = value                                   # the first update copies
        elif step % 2 == 0:
            expected = (1 - 0.1) * expected + 0.1 * value      # ema = (1-m) ema + m param
        np.testing.assert_allclose(ema.params['0.weight'], expected, rtol=1e-6)
        # buffers follow the model (update_buffers=False)
        np.testing.assert_array_equal(ema.buffers['1.running_mean'], value)
    assert ema.steps == 5 and expected == pytest.approx(0.9 * (0.9 * 1 + 0.1 * 5) + 0.1 * 9)


def test_update_buffers_averages_them():
    model = model_with(0.0)
    ema = ExponentialMovingAverage(model, momentum=0.5, update_buffers=True)
    ema.update_parameters(model)
    set_to(model, 2.0)
    ema.update_parameters(model)
    np.testing.assert_allclose(ema.buffers['1.running_mean'], 1.0)


@pytest.mark.parametrize('kwargs', [dict(momentum=0.0), dict(momentum=1.0), dict(interval=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ExponentialMovingAverage(model_with(0.0), **kwargs)


def fake_runner(model, iter=0, epoch=0):
    return types.SimpleNamespace(model=model, iter=iter, epoch=epoch,
                                 logger=logging.getLogger('test_ema'))


def test_hook_begin_swap_and_checkpoint_round_trip():
    model = model_with(1.0)
    hook = EMAHook(momentum=0.5, begin_iter=2)
    runner = fake_runner(model)
    hook.before_run(runner)
    for it, value in enumerate([1.0, 3.0, 5.0]):
        set_to(model, value)
        runner.iter = it
        hook.after_train_iter(runner, batch_idx=it)
    # iterations 0 (copy, before begin_iter) and 1 (first update: copy), then 0.5 * 3 + 0.5 * 5
    np.testing.assert_allclose(hook.ema.params['0.weight'], 4.0)
    hook.before_val_epoch(runner)
    np.testing.assert_allclose(model[0].weight.numpy(), 4.0)       # validated with the average
    hook.after_val_epoch(runner)
    np.testing.assert_allclose(model[0].weight.numpy(), 5.0)
    checkpoint = {'state_dict': model.state_dict()}
    hook.before_save_checkpoint(runner, checkpoint)
    np.testing.assert_allclose(checkpoint['state_dict']['0.weight'], 4.0)   # deployable
    np.testing.assert_allclose(checkpoint['ema_state_dict']['module.0.weight'], 5.0)
    # resume in a fresh model: training weights and the average both come back
    model2 = model_with(0.0)
    hook2 = EMAHook(momentum=0.5)
    runner2 = fake_runner(model2)
    hook2.after_load_checkpoint(runner2, checkpoint)   # the runner resumes before before_run
    hook2.before_run(runner2)                          # ... which keeps the loaded average
    np.testing.assert_allclose(model2[0].weight.numpy(), 5.0)
    np.testing.assert_allclose(hook2.ema.params['0.weight'], 4.0)
    assert hook2.ema.steps == hook.ema.steps == 2


def test_hook_without_ema_in_checkpoint_restarts_the_average(caplog):
    hook = EMAHook(momentum=0.5)
    runner = fake_runner(model_with(1.0))
    hook.before_run(runner)
    hook.ema.steps = 7
    with caplog.at_level(logging.INFO, logger='test_ema'):
        hook.after_load_checkpoint(runner, {'state_dict': {}})
    assert hook.ema.steps == 0 and 'no ema_state_dict' in caplog.text
    with pytest.raises(ValueError, match='begin_iter'):
        EMAHook(begin_iter=-1)


@pytest.mark.parametrize('update_buffers', [False, True])
def test_checkpoint_keeps_the_buffers_validation_used(update_buffers):
    """The saved ``state_dict`` is what was validated: the average's parameters with the
    model's buffers (e.g. BN statistics recomputed by PreciseBNHook after the last step), unless
    the buffers are averaged too."""
    model = model_with(1.0)
    hook = EMAHook(momentum=0.5, update_buffers=update_buffers)
    runner = fake_runner(model)
    hook.before_run(runner)
    hook.after_train_iter(runner, batch_idx=0)         # the average's copy: running_mean 1
    model[1].running_mean.data[...] = 9.0               # set after the last step
    checkpoint = {'state_dict': model.state_dict()}
    hook.before_save_checkpoint(runner, checkpoint)
    saved = checkpoint['state_dict']['1.running_mean']
    np.testing.assert_array_equal(saved, 1.0 if update_buffers else 9.0)
    hook2 = EMAHook(momentum=0.5, update_buffers=update_buffers)   # and resume undoes it
    model2 = model_with(0.0)
    hook2.after_load_checkpoint(fake_runner(model2), checkpoint)
    np.testing.assert_array_equal(model2[1].running_mean.numpy(), 9.0)


def test_hook_averages_the_model_inside_distributed_data_parallel():
    """Several ranks wrap the model (a one-rank wrapper here): the average and the checkpoint
    keys are the model's own, not DDP's ('module.' + name)."""
    from minicls.nn.parallel import DistributedDataParallel
    model = model_with(1.0)
    hook = EMAHook(momentum=0.5)
    runner = fake_runner(DistributedDataParallel(model))
    hook.before_run(runner)
    for it, value in enumerate([1.0, 3.0]):
        set_to(model, value)
        runner.iter = it
        hook.after_train_iter(runner, batch_idx=it)
    checkpoint = {'state_dict': model.state_dict()}   # the runner saves the model inside
    hook.before_save_checkpoint(runner, checkpoint)
    np.testing.assert_allclose(checkpoint['state_dict']['0.weight'], 2.0)   # the average
    np.testing.assert_allclose(checkpoint['ema_state_dict']['module.0.weight'], 3.0)
    model2 = model_with(0.0)
    hook2 = EMAHook(momentum=0.5)
    hook2.after_load_checkpoint(fake_runner(DistributedDataParallel(model2)), checkpoint)
    np.testing.assert_allclose(model2[0].weight.numpy(), 3.0)
    np.testing.assert_allclose(hook2.ema.params['0.weight'], 2.0)


def test_load_state_dict_names_missing_and_unexpected_keys_and_shapes():
    ema = ExponentialMovingAverage(model_with(0.0), momentum=0.5)
    state = ema.state_dict()
    with pytest.raises(KeyError) as info:
        ema.load_state_dict({k: v for k, v in state.items() if k != 'module.0.bias'})
    assert info.value.args[0] == ('ExponentialMovingAverage.load_state_dict: the state is of '
                                  'another model: missing key(s) module.0.bias')
    wider = ExponentialMovingAverage(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2),
                                                   nn.Linear(2, 1)), momentum=0.5)
    with pytest.raises(KeyError, match='unexpected key.s. module.2.bias, module.2.weight'):
        ema.load_state_dict(wider.state_dict())
    with pytest.raises(ValueError, match=r'module.0.weight has shape \(3, 2\) in the state, '
                                         r'\(2, 2\) here'):
        ema.load_state_dict({**state, 'module.0.weight': np.zeros((3, 2), np.float32)})
