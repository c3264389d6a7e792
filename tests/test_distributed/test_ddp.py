"""Data-parallel training on 2 real MPI ranks (``mpiexec -n 2``) equals one process.

The ranks' side is tests/test_distributed/mpi_ranks.py; each launch runs several checks, since
starting MPI costs about a second."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from image_folders import save_images

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

try:
    import mpi4py  # noqa: F401
    MPIEXEC = shutil.which('mpiexec')
    WHY = 'mpiexec not on PATH (pip install -e ".[dist]")'
except ImportError:
    MPIEXEC, WHY = None, 'mpi4py is not installed (pip install -e ".[dist]")'
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason=WHY)


def mpiexec(*args, cwd=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(HERE)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return subprocess.run([MPIEXEC, '-n', '2', sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@needs_mpi
def test_two_ranks_of_half_the_batch_equal_one_process(tmp_path):
    """3 SGD steps, 2 ranks x 4 images with SyncBN: the parameters and running statistics of
    1 process x 8 images, on both ranks; with plain BN they differ. The sampler's shards are
    disjoint and cover the data; the sharded evaluation gives the one-process metric."""
    run = mpiexec(str(HERE / 'mpi_ranks.py'), str(tmp_path))
    assert run.returncode == 0, run.stderr
    sys.path.insert(0, str(HERE))
    try:
        import mpi_ranks
    finally:
        sys.path.remove(str(HERE))
    from minicls import nn
    one = mpi_ranks.train(mpi_ranks.make_model(nn.BatchNorm2d))   # 1 process x 8 images
    ranks = [np.load(tmp_path / f'rank{r}.npz') for r in (0, 1)]
    for key, value in one.items():
        for rank in ranks:
            np.testing.assert_allclose(rank[f'sync/{key}'], value, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(ranks[0][f'sync/{key}'], ranks[1][f'sync/{key}'])
    assert not np.allclose(ranks[0]['plain/1.running_mean'], one['1.running_mean'])
    assert not np.allclose(ranks[0]['plain/0.weight'], one['0.weight'])
    reports = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert [r['world'] for r in reports] == [2, 2] and reports[0]['len'] == 3
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    assert reports[0]['local'] == 2 and reports[0]['threads'] == max(1, cores // 2)
    for epoch in (0, 1):
        a, b = (r['shards'][epoch] for r in reports)
        assert len(a) == len(b) == 6 and set(a) | set(b) == set(range(11))
        assert len(set(a) & set(b)) == 1  # the one padding sample (11 -> 12)
    assert reports[0]['shards'][0] != reports[0]['shards'][1]  # a new order each epoch
    from minicls.evaluation.metrics.single_label import Accuracy
    rng = np.random.default_rng(5)
    scores, labels = rng.random((11, 3)), rng.integers(0, 3, 11)
    metric = Accuracy(topk=(1, 2))
    metric.process({'gt_label': labels}, {'pred_score': scores})
    assert reports[0]['metric'] == reports[1]['metric'] == metric.evaluate()


@needs_mpi
def test_a_rank_that_raises_ends_every_rank_within_seconds():
    start = time.time()
    run = mpiexec(str(HERE / 'mpi_ranks.py'), '--raise', timeout=30)
    assert run.returncode != 0
    assert time.time() - start < 15
    assert '[rank 1]' in run.stderr and 'rank 1 fails on purpose' in run.stderr


CONFIG = """
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
model = dict(type='ImageClassifier',
             backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=1, strides=(1, ),
                           dilations=(1, ), out_indices=(0, ), base_channels=4,
                           stem_channels=4, norm_cfg=dict(type='SyncBN')),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=2, in_channels=4))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[60.0] * 3)
train_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='CustomDataset', data_root='data/train',
                                     pipeline=pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(type='CustomDataset', data_root='data/val',
                                                 pipeline=pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
auto_scale_lr = dict(base_batch_size=4)
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), progress_bar=dict(disable=True))
randomness = dict(seed=0)
work_dir = 'work'
"""


def _folders(root):
    """Two colour classes of 8x8 images, 6 + 6 to train; 7 images of noise to validate (an
    accuracy of k/7 with 0 < k < 7, which a counted padding sample would change)."""
    rng = np.random.default_rng(0)
    for split, counts in (('train', (6, 6)), ('val', (4, 3))):
        colors = [(200, 40, 40), (40, 40, 200)] if split == 'train' else [(127, 127, 127)] * 2
        for c, (color, count) in enumerate(zip(colors, counts)):
            save_images(root / 'data' / split / f'class{c}', color, count, rng, noise=60)


@needs_mpi
def test_train_a_config_on_two_ranks_and_resume(tmp_path):
    """One work dir, one log, each checkpoint written once; --resume goes on; the validation
    accuracy of the 2 ranks equals that of one process on the same weights."""
    _folders(tmp_path)
    (tmp_path / 'tiny.py').write_text(CONFIG)
    run = mpiexec('-m', 'minicls.train', 'tiny.py', '--launcher', 'mpi', '--auto-scale-lr',
                  cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    run = mpiexec('-m', 'minicls.train', 'tiny.py', '--launcher', 'mpi', '--resume',
                  '--cfg-options', 'train_cfg.max_epochs=2', cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    assert (run.stdout + run.stderr).count('Training 2 epochs') == 1  # rank 1 logs no info
    work = tmp_path / 'work'
    logs = sorted(work.glob('*/*.log'))  # one per launch (one if both started in 1 second)
    assert len(logs) in (1, 2) and all(len(list(p.parent.glob('*.log'))) == 1 for p in logs)
    text = ''.join(p.read_text() for p in logs)
    first, second = text.split('Resumed from')  # no line from rank 1, which logs nothing
    assert text.count('device cpu, seed 0') == 2
    assert 'the current batch size is 8' in first  # --auto-scale-lr: 2 ranks x 4
    assert 'Epoch(train) [1][2/2]' in first  # 6 images per rank, batches of 4: 2 steps
    assert second.split('\n')[0].endswith('epoch_1.npz: epoch 1, iteration 2')
    assert 'Epoch(train) [2][2/2]' in second and 'Epoch(train) [1]' not in second
    assert sorted(p.name for p in work.glob('*.npz')) == ['epoch_1.npz', 'epoch_2.npz']
    val = [json.loads(line) for line in
           (logs[-1].parent / 'vis_data' / 'scalars.json').read_text().splitlines()
           if 'accuracy/top1' in line][-1]['accuracy/top1']
    from minicls.config import Config
    from minicls.engine.runner import Runner
    cfg = Config.fromfile(str(tmp_path / 'tiny.py'))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cfg.merge_from_dict(dict(load_from=str(work / 'epoch_2.npz'), work_dir=str(tmp_path / 'v')))
        assert Runner.from_cfg(cfg).val()['accuracy/top1'] == val
        assert 0 < val < 100
    finally:
        os.chdir(cwd)


def test_hooks_that_write_run_on_rank_0_only(monkeypatch):
    from minicls import distributed as dist
    from minicls.engine.distributed import keep_hook
    from minicls.engine.runner import DEFAULT_HOOKS
    from minicls.registry import HOOKS
    hooks = [HOOKS.build(dict(cfg)) for cfg in DEFAULT_HOOKS.values()]
    assert all(keep_hook(h) for h in hooks)
    monkeypatch.setattr(dist, 'get_rank', lambda: 1)
    assert sorted(type(h).__name__ for h in hooks if keep_hook(h)) == [
        'CheckInvalidLossHook', 'IterTimerHook', 'ParamSchedulerHook', 'RuntimeInfoHook']


def test_launcher_errors_are_one_line(monkeypatch, capsys):
    from minicls import distributed as dist
    from minicls.train import main
    assert main(['--launcher', 'slurm']) == 2
    assert 'error: --launcher ' in capsys.readouterr().err
    monkeypatch.setattr(dist, 'is_available', lambda: False)
    monkeypatch.setenv('MINICLS_LAUNCHER', 'mpi')
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install' in err and 'mpi4py' in err
