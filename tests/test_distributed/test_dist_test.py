"""``mpiexec -n 2 python -m minicls.test ... --launcher mpi`` gives the metrics of one process.

The tiny config of tests/mpi_helpers.py is trained for one epoch in one process; its 7
validation images split into shards of 4 + 4 (one padding copy), so an accuracy of k/7 would
become k/8 or (k+1)/8 if the copy were counted."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from mpi_helpers import ROOT, TINY_CONFIG, mpiexec, needs_mpi, tiny_folders

TOP1 = re.compile(r'Epoch\(test\) \[\d+/\d+\]\s+accuracy/top1: (\S+)')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A folder with the tiny config, its data and ``work/epoch_1.npz`` (one process)."""
    root = tmp_path_factory.mktemp('dist_test')
    tiny_folders(root)
    (root / 'tiny.py').write_text(TINY_CONFIG)
    run = _one_process('minicls.train', 'tiny.py', cwd=root)
    assert run.returncode == 0, run.stderr + run.stdout
    return root


def _one_process(module, *args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, '-m', module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _top1(run):
    """The printed top-1 accuracy, checking it is printed once (rank 0 only)."""
    assert run.returncode == 0, run.stderr + run.stdout
    found = TOP1.findall(run.stdout + run.stderr)
    assert len(found) == 1, run.stdout + run.stderr
    return found[0]


@needs_mpi
def test_two_ranks_print_and_write_what_one_process_does(trained):
    """The printed top-1, the --out metrics and every image's prediction, once each, in the
    data set's order; only rank 0 prints and writes."""
    args = ['work/epoch_1.npz', '--work-dir', 'test_log']
    one = _one_process('minicls.test', *args, '--out', 'one.json', cwd=trained)
    two = mpiexec('-m', 'minicls.test', *args, '--out', 'two.json', '--launcher', 'mpi',
                  cwd=trained, timeout=120)
    assert _top1(two) == _top1(one)
    assert 0 < float(_top1(one)) < 100  # k/7 with 0 < k < 7: a counted padding copy shows
    assert two.stdout.count('predictions of 7 images written to two.json') == 1
    one, two = (json.loads((trained / f'{n}.json').read_text()) for n in ('one', 'two'))
    assert two['metrics'] == one['metrics']
    assert [p['sample_idx'] for p in two['predictions']] == list(range(7))
    for a, b in zip(one['predictions'], two['predictions']):
        assert (a['img_path'], a['gt_label'], a['pred_label']) == (
            b['img_path'], b['gt_label'], b['pred_label'])
        assert a['pred_scores'] == pytest.approx(b['pred_scores'], abs=1e-5)


@needs_mpi
def test_two_ranks_with_tta_equal_one_process(trained):
    args = ['tiny.py', 'work/epoch_1.npz', '--tta', '--work-dir', 'tta_log']
    one = _one_process('minicls.test', *args, cwd=trained)
    two = mpiexec('-m', 'minicls.test', *args, '--launcher', 'mpi', cwd=trained, timeout=120)
    assert _top1(two) == _top1(one)


@needs_mpi
def test_a_missing_checkpoint_ends_every_rank_with_one_line(tmp_path):
    (tmp_path / 'tiny.py').write_text(TINY_CONFIG)
    start = time.time()
    run = mpiexec('-m', 'minicls.test', 'tiny.py', 'missing.npz', '--launcher', 'mpi',
                  cwd=tmp_path, timeout=30)
    assert run.returncode != 0
    assert time.time() - start < 20
    assert 'error: checkpoint not found: ' in run.stderr and 'Traceback' not in run.stderr
    assert not (tmp_path / 'work').exists()  # no work dir made for a test that cannot start
