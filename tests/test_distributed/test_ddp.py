"""Data-parallel training on 2 real MPI ranks (``mpiexec -n 2``) equals one process.

The ranks' side is tests/test_distributed/mpi_ranks.py; each launch runs several checks, since
starting MPI costs about a second."""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import TINY_CONFIG, mpiexec, needs_mpi, tiny_folders

HERE = Path(__file__).parent


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


@needs_mpi
def test_train_a_config_on_two_ranks_and_resume(tmp_path):
    """One work dir, one log, each checkpoint written once; --resume goes on; the validation
    accuracy of the 2 ranks equals that of one process on the same weights."""
    tiny_folders(tmp_path)
    (tmp_path / 'tiny.py').write_text(TINY_CONFIG)
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


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_launcher_errors_are_one_line(tool, monkeypatch, capsys):
    """train and test take the same --launcher (and $MINICLS_LAUNCHER), checked first."""
    import importlib
    from minicls import distributed as dist
    main = importlib.import_module(f'minicls.{tool}').main
    args = ['missing.npz'] if tool == 'test' else []
    assert main(args + ['--launcher', 'slurm']) == 2
    assert 'error: --launcher ' in capsys.readouterr().err
    monkeypatch.setattr(dist, 'is_available', lambda: False)
    monkeypatch.setenv('MINICLS_LAUNCHER', 'mpi')
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install' in err and 'mpi4py' in err
