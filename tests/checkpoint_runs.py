"""Shared by the checkpoint reliability tests (tests/test_engine/test_reliability_*.py): runs of
the quickstart config shrunk with ``--cfg-options`` (16 training images, 4 per batch; 8
validation images; an epoch takes a few hundredths of a second), through the command line or a
Runner, and what to read back from their work dirs.
"""
import json
import os
import sys

import numpy as np
import pytest

from minicls import train as train_cli
from minicls.config import Config
from minicls.configs import QUICKSTART
from minicls.engine.checkpoint import load_checkpoint
from minicls.engine.runner import Runner

posix_only = pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals')

TINY = ['train_dataloader.dataset.indices=16', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0', 'val_dataloader.dataset.indices=8',
        'val_dataloader.batch_size=4', 'val_dataloader.num_workers=0',
        'model.backbone.stem_channels=4', 'model.backbone.base_channels=4',
        'model.head.in_channels=16', 'default_hooks.logger.interval=1',
        'default_hooks.progress_bar.disable=True']   # 4 iterations an epoch, 2 in validation
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def cli_args(work, *options, resume=None):
    args = ['--work-dir', str(work)] + ([] if resume is None else ['--resume'] + (
        [] if resume is True else [str(resume)]))
    return args + ['--cfg-options', *TINY, *options]


def train(work, *options, resume=None):
    return train_cli.main(cli_args(work, *options, resume=resume))


def refused(capsys, work, *options, resume=None):
    """The command line's one ``error:`` line for a run that must stop (exit code 2)."""
    capsys.readouterr()
    assert train(work, *options, resume=resume) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    return err[err.index('error: '):]


def make_runner(work, hooks=(), max_epochs=3):
    """A Runner for the shrunk quickstart with ``hooks`` as custom_hooks."""
    args = train_cli.parse_args(cli_args(work, f'train_cfg.max_epochs={max_epochs}'))
    cfg = train_cli.merge_args(Config.fromfile(QUICKSTART), args)
    cfg.custom_hooks = list(hooks)
    return Runner.from_cfg(cfg)


def pointer(work):
    return (work / 'last_checkpoint').read_text(encoding='utf-8')


def log_text(work):
    return ''.join(p.read_text() for p in sorted(work.glob('*/*.log')))


def val_epochs(work):
    records = [json.loads(line) for p in sorted(work.glob('*/vis_data/scalars.json'))
               for line in p.read_text().splitlines()]
    return [(r['step'], r['accuracy/top1']) for r in records if r['mode'] == 'val']


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob('*') if p.is_file()}


def reference_run(tmp_path_factory):
    """An uninterrupted 3-epoch run: what every interrupted and resumed run must equal. A test
    module makes it its ``reference`` fixture (one run per module):
    ``_reference = pytest.fixture(scope='module', name='reference')(reference_run)``."""
    work = tmp_path_factory.mktemp('reference')
    runner = make_runner(work)
    runner.train()
    assert not runner.interrupted
    return work


def same_weights(a, b):
    wa, wb = load_checkpoint(str(a))['state_dict'], load_checkpoint(str(b))['state_dict']
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)

