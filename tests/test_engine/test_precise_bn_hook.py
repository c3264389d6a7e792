"""PreciseBNHook: BN statistics = the average over whole training batches, with EMA weights."""
import logging
import types

import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.engine.hooks import EMAHook, PreciseBNHook


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Linear(2, 2, bias=False)
        self.bn = nn.BatchNorm1d(2, momentum=0.4)
        self.data_preprocessor = lambda batch, training=False: {'inputs': batch}

    def forward(self, inputs, targets=None, mode='tensor'):
        return self.bn(self.scale(inputs))


class Loader:
    def __init__(self, batches):
        self.batches = batches

    def batch_indices(self, epoch):
        return [np.arange(len(b)) for b in self.batches]

    def load_batch(self, epoch, index, indices):
        return minicls.tensor(self.batches[index])


def make_runner(hooks=(), epoch=0, max_epochs=3):
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=i, size=(4, 2)).astype(np.float32) for i in range(3)]
    model = Net()
    model.scale.weight.data = np.eye(2, dtype=np.float32)
    runner = types.SimpleNamespace(model=model, train_dataloader=Loader(batches), epoch=epoch,
                                   max_epochs=max_epochs, hooks=list(hooks),
                                   logger=logging.getLogger('test_precise_bn'))
    return runner, batches


def test_statistics_are_the_average_over_whole_batches():
    runner, batches = make_runner()
    PreciseBNHook(num_samples=5).after_train_epoch(runner)     # 5 images: 2 whole batches
    bn = runner.model.bn
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([b.mean(0) for b in batches[:2]], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches[:2]], axis=0),
                               rtol=1e-5)
    assert bn.momentum == 0.4


def test_interval_and_the_last_epoch():
    hook = PreciseBNHook(interval=2)
    runner, _ = make_runner(epoch=0, max_epochs=3)              # epoch 1 of 3: skipped
    hook.after_train_epoch(runner)
    np.testing.assert_array_equal(runner.model.bn.running_mean.numpy(), 0)
    for epoch in (1, 2):                                         # epoch 2 (interval), 3 (last)
        runner, _ = make_runner(epoch=epoch, max_epochs=3)
        hook.after_train_epoch(runner)
        assert np.abs(runner.model.bn.running_mean.numpy()).sum() > 0
    with pytest.raises(ValueError, match='num_samples'):
        PreciseBNHook(num_samples=0)


def test_statistics_belong_to_the_averaged_weights():
    runner, batches = make_runner()
    ema = EMAHook(momentum=0.5)
    ema.before_run(runner)
    ema.ema.params['scale.weight'][...] = 2 * np.eye(2)        # the average: twice the input
    runner.hooks.append(ema)
    PreciseBNHook(num_samples=100).after_train_epoch(runner)
    np.testing.assert_allclose(runner.model.bn.running_mean.numpy(),
                               2 * np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_array_equal(runner.model.scale.weight.numpy(), np.eye(2))   # swapped back


def test_several_ranks_average_all_their_batches(monkeypatch, caplog):
    """2 ranks: num_samples counts both (8 images: one batch of 4 each), and the statistics
    are the average over both ranks' batches (here rank 1's is batches[2])."""
    from minicls import distributed as dist
    runner, batches = make_runner()
    other = batches[2]

    def all_reduce(x, op='sum'):     # adds what rank 1 holds
        x += np.array([1, 4]) if x.dtype.kind == 'i' else np.concatenate(
            [other.mean(0), other.var(0, ddof=1)])
        return x
    monkeypatch.setattr(dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(dist, 'all_reduce', all_reduce)
    with caplog.at_level(logging.INFO, logger='test_precise_bn'):
        PreciseBNHook(num_samples=8).after_train_epoch(runner)
    assert 'recomputed on 8 training images' in caplog.text
    bn = runner.model.bn
    np.testing.assert_allclose(bn.running_mean.numpy(), (batches[0].mean(0) + other.mean(0)) / 2,
                               rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               (batches[0].var(0, ddof=1) + other.var(0, ddof=1)) / 2, rtol=1e-5)
