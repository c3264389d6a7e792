"""FreezeParamsHook: named parameters train for ``train_epochs`` epochs, then stay as they are."""
import numpy as np
import pytest

import minicls
from minicls.engine.checkpoint import load_checkpoint
from minicls.engine.hooks import FreezeParamsHook
from minicls.models import build_backbone

from ..checkpoint_runs import log_text, make_runner

FROZEN = ['head.fc.bias', 'backbone.conv1.weight']


def weights(path):
    return load_checkpoint(str(path))['state_dict']


def test_parameters_stop_changing_after_train_epochs_also_after_a_resume(tmp_path):
    hook = dict(type='FreezeParamsHook', params=FROZEN, train_epochs=1)
    work = tmp_path / 'run'
    make_runner(work, [hook], max_epochs=3).train()
    w2, w3 = (weights(work / f'epoch_{e}.npz') for e in (2, 3))   # (2 checkpoints kept)
    for name in FROZEN:
        np.testing.assert_array_equal(w2[name], w3[name])
    assert not np.array_equal(w2['head.fc.weight'], w3['head.fc.weight'])   # the rest trains
    assert 'FreezeParamsHook: epoch 2: froze head.fc.bias, backbone.conv1.weight' in \
        log_text(work)
    # a run resumed after the freezing epoch freezes them before its first epoch: its last
    # epoch equals the uninterrupted run's
    resumed = make_runner(work, [hook], max_epochs=3)
    resumed.cfg.resume = str(work / 'epoch_2.npz')
    (work / 'epoch_3.npz').unlink()
    resumed.train()
    w3b = weights(work / 'epoch_3.npz')
    assert all(np.array_equal(w3[k], w3b[k]) for k in w3)


def test_without_the_hook_they_train(tmp_path):
    work = tmp_path / 'run'
    make_runner(work, [], max_epochs=3).train()
    w2, w3 = (weights(work / f'epoch_{e}.npz') for e in (2, 3))
    for name in FROZEN:
        assert not np.array_equal(w2[name], w3[name])


def test_a_misspelt_name_stops_the_run_before_training(tmp_path):
    hook = dict(type='FreezeParamsHook', params=['head.fc.bais'], train_epochs=5)
    runner = make_runner(tmp_path / 'run', [hook], max_epochs=1)
    with pytest.raises(KeyError, match="no parameter 'head.fc.bais'"):
        runner.train()
    assert not list((tmp_path / 'run').glob('*.npz'))


@pytest.mark.parametrize('kwargs, match', [(dict(params=[], train_epochs=1), 'params is empty'),
                                           (dict(params='a', train_epochs=-1), '>= 0')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FreezeParamsHook(**kwargs)


def test_freezing_the_whitening_bias_ends_the_backward_before_the_first_conv():
    net = build_backbone(dict(type='FastCifarNet', widths=(4, 4, 4)))
    x = minicls.tensor(np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32))
    assert net.whiten_act(net.whiten(x)).requires_grad          # the bias still trains
    net.whiten.bias.requires_grad = False                         # what the hook does
    assert not net.whiten_act(net.whiten(x)).requires_grad      # nothing to send back to it
    net(x)[0].sum().backward()
    assert net.whiten.bias.grad is None and net.groups[0].layers[0].weight.grad is not None
