"""The training loop on a tiny folder data set: logs, checkpoints, best, resume, Ctrl-C, hooks."""
import json
import os
import re

import numpy as np
import pytest

from image_folders import two_colour_classes

import minicls
from minicls import nn
from minicls.engine import Hook
from minicls.engine.checkpoint import load_checkpoint
from minicls.engine.runner import Runner
from minicls.registry import HOOKS, METRICS, MODELS


@MODELS.register_module(force=True)
class TinyNet(nn.Module):
    """A backbone small enough for tests: flatten -> linear -> BN -> ReLU (a 1-tuple)."""

    def __init__(self, in_features=3 * 8 * 8, out=8):
        super().__init__()
        self.fc = nn.Linear(in_features, out)
        self.bn = nn.BatchNorm1d(out)

    def forward(self, x):
        return (self.bn(self.fc(x.flatten(1))).relu(),)


@METRICS.register_module(force=True)
class ToyAccuracy:
    """Top-1 accuracy in % (the runner tests do not depend on the real metric)."""

    def __init__(self, topk=(1,)):
        self.hits = []

    def process(self, data_batch, outputs):
        pred = outputs['pred_label'].numpy()
        self.hits.extend((pred == np.asarray(data_batch['gt_label'])).tolist())

    def evaluate(self):
        value = 100.0 * float(np.mean(self.hits))
        self.hits = []
        return {'accuracy/top1': value}


@HOOKS.register_module(force=True)
class StopAtIterHook(Hook):
    """Raise KeyboardInterrupt before global iteration ``at`` (as a Ctrl-C would)."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            raise KeyboardInterrupt


@HOOKS.register_module(force=True)
class CountHook(Hook):
    calls = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        CountHook.calls['iter'] = CountHook.calls.get('iter', 0) + 1

    def after_val_epoch(self, runner, metrics=None):
        CountHook.calls.setdefault('val', []).append(metrics['accuracy/top1'])


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """Two colour classes of 8x8 noisy images, 12 per class and split."""
    return two_colour_classes(tmp_path_factory.mktemp('folders'), 12, noise=40)


def make_cfg(data_root, work_dir, **over):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    cfg = dict(
        model=dict(type='ImageClassifier', backbone=dict(type='TinyNet'),
                   head=dict(type='LinearClsHead', num_classes=2, in_channels=8)),
        data_preprocessor=dict(num_classes=2, mean=[127.5] * 3, std=[60.0] * 3),
        train_dataloader=dict(batch_size=4, dataset=dict(
            type='CustomDataset', data_root=str(data_root / 'train'), pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=True)),
        val_dataloader=dict(batch_size=8, dataset=dict(
            type='CustomDataset', data_root=str(data_root / 'val'), pipeline=pipeline)),
        val_evaluator=dict(type='ToyAccuracy'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
                           paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, end=1,
                              convert_to_iter_based=True),
                         dict(type='CosineAnnealingLR', begin=1, by_epoch=True)],
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        default_hooks=dict(logger=dict(interval=1), progress_bar=dict(disable=True)),
        randomness=dict(seed=0), work_dir=str(work_dir))
    cfg.update(over)
    return cfg


def scalars(work_dir, mode='train'):
    records = []
    for stamp in sorted(os.listdir(work_dir)):
        path = os.path.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if os.path.isfile(path):
            with open(path) as f:
                records += [json.loads(line) for line in f]
    return [r for r in records if r['mode'] == mode]


def test_train_writes_logs_checkpoints_and_learns(data_root, tmp_path):
    cfg = make_cfg(data_root, tmp_path, default_hooks=dict(
        logger=dict(interval=2), progress_bar=dict(disable=True),
        checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='auto')))
    runner = Runner.from_cfg(cfg)
    runner.train()
    files = set(os.listdir(tmp_path))
    assert {'epoch_2.npz', 'epoch_3.npz', 'last_checkpoint', 'config.py'} <= files
    assert 'epoch_1.npz' not in files  # max_keep_ckpts=2
    assert len([f for f in files if f.startswith('best_accuracy_top1_epoch_')]) == 1
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip() == str(tmp_path / 'epoch_3.npz')
    stamp = runner.timestamp
    with open(tmp_path / stamp / f'{stamp}.log') as f:
        log = f.read()
    assert re.search(r'Epoch\(train\) \[1\]\[2/6\]  lr: \d\.\d{4}e-\d\d  eta: \d+:\d\d:\d\d  '
                     r'time: \d+\.\d{4}  data_time: \d+\.\d{4}  loss: \d\.\d{4}', log)
    assert re.search(r'Epoch\(val\) \[3\]\[3/3\]    accuracy/top1: \d+\.\d{4}', log)
    train, val = scalars(tmp_path), scalars(tmp_path, 'val')
    assert len(train) == 9 and [r['step'] for r in train[:3]] == [2, 4, 6]
    assert [r['step'] for r in val] == [1, 2, 3]
    assert val[-1]['accuracy/top1'] >= 90.0  # two colours: easy
    ckpt = load_checkpoint(str(tmp_path / 'epoch_3.npz'))
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 18
    assert ckpt['meta']['dataset_meta']['classes'] == ['class0', 'class1']
    assert 'ImageClassifier' in ckpt['meta']['cfg']
    assert set(ckpt) >= {'state_dict', 'optimizer', 'param_schedulers', 'message_hub'}
    # the learning rate followed warm-up then cosine (epoch 3 = half of the cosine)
    assert train[0]['lr'] == pytest.approx(0.01 + 0.09 * 1 / 5)
    assert train[-1]['lr'] == pytest.approx(0.05)
    metrics = Runner.from_cfg(make_cfg(data_root, tmp_path / 'v',
                                       load_from=str(tmp_path / 'epoch_3.npz'))).val()
    assert metrics['accuracy/top1'] == val[-1]['accuracy/top1']


def _weights(work_dir):
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        return load_checkpoint(f.read().strip())['state_dict']


@pytest.mark.parametrize('stop_at', [8, 12])  # mid-epoch 2, and exactly at the start of epoch 3
def test_interrupt_and_resume_gives_the_same_curve(data_root, tmp_path, stop_at):
    whole = tmp_path / 'whole'
    Runner.from_cfg(make_cfg(data_root, whole)).train()
    part = tmp_path / 'part'
    runner = Runner.from_cfg(make_cfg(data_root, part, custom_hooks=[
        dict(type='StopAtIterHook', at=stop_at)]))
    runner.train()  # KeyboardInterrupt from the hook: checkpoint saved, clean return
    assert runner.interrupted and (part / f'iter_{stop_at}.npz').is_file()
    assert len(scalars(part)) == stop_at
    resumed = Runner.from_cfg(make_cfg(data_root, part, resume=True,
                                       randomness=dict(seed=None)))  # the seed comes back too
    resumed.train()
    assert not resumed.interrupted
    a, b = scalars(whole), scalars(part)
    assert [r['loss'] for r in a] == [r['loss'] for r in b]  # exactly equal
    assert [r['lr'] for r in a] == [r['lr'] for r in b]
    assert [r['accuracy/top1'] for r in scalars(whole, 'val')][-1] == \
        [r['accuracy/top1'] for r in scalars(part, 'val')][-1]
    wa, wb = _weights(whole), _weights(part)
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key])


def test_resume_from_a_path_and_load_from_weights_only(data_root, tmp_path):
    steps = dict(param_scheduler=dict(type='MultiStepLR', milestones=[1]))
    Runner.from_cfg(make_cfg(data_root, tmp_path / 'a', train_cfg=dict(max_epochs=1),
                             **steps)).train()
    ckpt = str(tmp_path / 'a' / 'epoch_1.npz')
    runner = Runner.from_cfg(make_cfg(data_root, tmp_path / 'b', resume=ckpt, **steps))
    runner.train()
    assert [r['epoch'] for r in scalars(tmp_path / 'b')][0] == 2  # continued at epoch 2
    runner = Runner.from_cfg(make_cfg(data_root, tmp_path / 'c', load_from=ckpt,
                                      train_cfg=dict(max_epochs=1), **steps))
    runner.train()
    assert [r['epoch'] for r in scalars(tmp_path / 'c')][0] == 1  # weights only: from epoch 1


def test_custom_hook_and_no_validation(data_root, tmp_path):
    CountHook.calls.clear()
    runner = Runner.from_cfg(make_cfg(data_root, tmp_path, custom_hooks=[dict(type='CountHook')],
                                      train_cfg=dict(max_epochs=2, val_interval=2)))
    runner.train()
    assert CountHook.calls['iter'] == 12 and len(CountHook.calls['val']) == 1
    names = [type(h).__name__ for h in runner.hooks]
    assert names.index('ParamSchedulerHook') < names.index('CheckpointHook')
    assert names.index('LoggerHook') < names.index('ParamSchedulerHook')
    cfg = make_cfg(data_root, tmp_path / 'nv', train_cfg=dict(max_epochs=1),
                   param_scheduler=None)
    cfg.pop('val_dataloader')
    Runner.from_cfg(cfg).train()
    assert scalars(tmp_path / 'nv', 'val') == []


def test_bad_configs_say_what_to_fix(data_root, tmp_path):
    cfg = make_cfg(data_root, tmp_path)
    cfg.pop('optim_wrapper')
    with pytest.raises(KeyError, match='optim_wrapper'):
        Runner.from_cfg(cfg).train()
    with pytest.raises(KeyError, match='TinyNett'):
        Runner.from_cfg(make_cfg(data_root, tmp_path, model=dict(
            type='ImageClassifier', backbone=dict(type='TinyNett'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=8))))
    assert minicls.is_grad_enabled()


def test_the_loop_on_the_device_gives_the_cpu_curve(data_root, tmp_path, cuda):
    """``device='cuda'`` (``--device cuda``): the same loop, with a conv net, gives the CPU's
    losses; its checkpoint holds host arrays and evaluates to the same accuracy on the CPU."""
    over = dict(model=dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, ), base_channels=4, stem_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=8)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        default_hooks=dict(logger=dict(interval=1), progress_bar=dict(disable=True),
                           checkpoint=dict(interval=1)))
    Runner.from_cfg(make_cfg(data_root, tmp_path / 'cpu', **over)).train()
    runner = Runner.from_cfg(make_cfg(data_root, tmp_path / 'gpu', device=cuda, **over))
    runner.train()
    assert runner.device == 'cuda:0'
    assert next(runner.model.parameters()).device == 'cuda:0'
    cpu, gpu = scalars(tmp_path / 'cpu'), scalars(tmp_path / 'gpu')
    assert len(gpu) == len(cpu) == 12
    np.testing.assert_allclose([r['loss'] for r in gpu], [r['loss'] for r in cpu], rtol=1e-4)
    with open(tmp_path / 'gpu' / runner.timestamp / f'{runner.timestamp}.log') as f:
        assert re.search(r'memory: \d+  loss', f.read())  # device memory in the log lines
    ckpt = load_checkpoint(str(tmp_path / 'gpu' / 'epoch_2.npz'))
    assert all(type(v) is np.ndarray for v in ckpt['state_dict'].values())
    metrics = Runner.from_cfg(make_cfg(data_root, tmp_path / 'v', load_from=str(
        tmp_path / 'gpu' / 'epoch_2.npz'), **over)).val()
    assert metrics['accuracy/top1'] == scalars(tmp_path / 'gpu', 'val')[-1]['accuracy/top1']


def test_load_from_a_url_downloads_into_the_cache(data_root, tmp_path, server, monkeypatch):
    from minicls.engine.checkpoint import save_checkpoint
    www, url = server
    monkeypatch.setenv('MINICLS_HOME', str(tmp_path / 'home'))
    model = Runner.from_cfg(make_cfg(data_root, tmp_path / 'a')).model
    weights = {k: np.asarray(v) + 1 for k, v in model.state_dict().items()}
    save_checkpoint({'state_dict': weights}, str(www / 'tiny.npz'))
    runner = Runner.from_cfg(make_cfg(data_root, tmp_path / 'b', load_from=f'{url}/tiny.npz'))
    runner.val()
    for key, value in runner.model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), weights[key])
    assert (tmp_path / 'home' / 'checkpoints' / 'tiny.npz').is_file()


def test_unknown_keys_in_the_sections_the_runner_reads_are_refused(data_root, tmp_path):
    from minicls.config.errors import ConfigError, ConfigKeyError
    for change, says in [
            (dict(train_cfg=dict(max_epoch=1)), "train_cfg has no key 'max_epoch'. Did you "
                                                "mean 'max_epochs'?"),
            (dict(test_cfg=dict(fp16=True)), "test_cfg has no key 'fp16'. Valid keys: type"),
            (dict(auto_scale_lr=dict(base_batchsize=8)), "Did you mean 'base_batch_size'?"),
            (dict(randomness=dict(sed=0)), "randomness has no key 'sed'"),
            (dict(randomness=dict(seed=0, diff_rank_seed=True)), 'diff_rank_seed=True is not '
                                                                 'supported'),
            (dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=9)), "has no key"),
            (dict(train_cfg=dict(type='IterBasedTrainLoop')), 'the EpochBasedTrainLoop only'),
            (dict(val_cfg=3), 'val_cfg must be a dict'),
            (dict(default_hooks=dict(logger=dict(type='LoggerHook', intervall=3))),
             "default_hooks.logger: LoggerHook has no argument 'intervall'. Did you mean "
             "'interval'?"),
            (dict(custom_hooks=[dict(type='CountHook', x=1)]),
             "custom_hooks[0]: CountHook has no argument 'x'")]:
        with pytest.raises(ConfigError) as info:
            Runner.from_cfg(make_cfg(data_root, tmp_path / 'work', **change))
        assert says in str(info.value), change
    cfg = make_cfg(data_root, tmp_path / 'work')
    cfg['val_dataloader'] = dict(cfg['val_dataloader'], batchsize=4)
    with pytest.raises(ConfigKeyError, match="val_dataloader has no key 'batchsize'"):
        Runner.from_cfg(cfg)
    assert not os.path.exists(tmp_path / 'work')   # refused before anything is written
