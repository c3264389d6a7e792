"""Faults injected for real around checkpoints and resume (issue 14, items 1, 3, 4, 5):
kill -9 at random points and during validation, a kill between writing and renaming
``last_checkpoint``, bad pointers, double Ctrl-C, Ctrl-C during validation (damaged and foreign
files: test_reliability_damaged_checkpoints.py).

Runs use the quickstart config shrunk by tests/checkpoint_runs.py. Signals are real: a hook
sends SIGINT to this process (``os.kill``), or the test sends SIGKILL to a child process.
"""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from checkpoint_runs import (ENV, cli_args, log_text, make_runner, pointer, posix_only,
                             reference_run, refused, same_weights, snapshot, train,
                             val_epochs)

from minicls.engine import Hook
from minicls.engine.checkpoint import load_checkpoint, save_checkpoint
from minicls.registry import HOOKS

_reference = pytest.fixture(scope='module', name='reference')(reference_run)


@HOOKS.register_module(force=True)
class SigintHook(Hook):
    """Send a real SIGINT to this process at each ``(point, runner.iter)`` of ``at``; point is
    'before_train_iter', 'after_train_iter', 'before_val_iter' (the first batch) or
    'before_save_checkpoint'."""

    def __init__(self, at):
        self.at = [tuple(a) for a in at]

    def _maybe(self, point, runner):
        if (point, runner.iter) in self.at:
            os.kill(os.getpid(), signal.SIGINT)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._maybe('before_train_iter', runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._maybe('after_train_iter', runner)

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self._maybe('before_val_iter', runner)

    def before_save_checkpoint(self, runner, checkpoint):
        self._maybe('before_save_checkpoint', runner)



# -- item 1: the last_checkpoint pointer ---------------------------------------------------------
KILL_IN_POINTER_WRITE = """
import os, signal, sys
real_replace, writes = os.replace, []
def replace(src, dst):
    if os.path.basename(dst) == 'last_checkpoint':
        writes.append(dst)
        if len(writes) == 3:   # the temp file is written and synced: die before the rename
            os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
os.replace = replace
from minicls.train import main
sys.exit(main(sys.argv[1:]))
"""


@posix_only
def test_kill_between_write_and_rename_of_the_pointer(tmp_path):
    """Killed inside the third pointer write: the pointer still names epoch 2, the orphan temp
    file is removed at the next start (files that are not ours stay), resume goes on, and
    max_keep_ckpts=2 (quickstart) counts the files on disk after the resume."""
    work = tmp_path / 'work'
    done = subprocess.run([sys.executable, '-c', KILL_IN_POINTER_WRITE,
                           *cli_args(work, 'train_cfg.max_epochs=5')],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert pointer(work) == str(work / 'epoch_2.npz')   # the old pointer, whole
    assert (work / 'epoch_3.npz').is_file()             # saved just before the kill
    orphans = [p.name for p in work.iterdir() if p.name.startswith('.tmp_')]
    assert len(orphans) == 1 and orphans[0].endswith('_last_checkpoint')
    (work / '.tmp_ab12cd_3.npz').write_bytes(b'x')       # as tempfile.mkstemp named them
    for name in ('.tmp_notes.txt', 'notes.tmp_1', 'iter_x.npz'):   # not ours: kept
        (work / name).write_text('mine')
    assert train(work, 'train_cfg.max_epochs=4', resume=True) == 0
    names = {p.name for p in work.iterdir()}
    assert not names & {orphans[0], '.tmp_ab12cd_3.npz'}
    assert {'.tmp_notes.txt', 'notes.tmp_1', 'iter_x.npz'} <= names
    assert 'temporary file(s) left' in log_text(work)
    assert pointer(work) == str(work / 'epoch_4.npz')
    assert sorted(n for n in names if n.startswith('epoch_')) == ['epoch_3.npz', 'epoch_4.npz']


@pytest.mark.parametrize('bad', ['', '  \n', '/no/such/dir/epoch_9.npz', None])
def test_a_bad_pointer_stops_resume_and_changes_nothing(reference, tmp_path, bad, capsys):
    """An empty, blank or dangling last_checkpoint (or none beside checkpoints): --resume
    stops with an error naming the pointer, the checkpoints there and --resume PATH; no file
    in the work dir is written, overwritten or deleted."""
    work = tmp_path / 'work'
    work.mkdir()
    for name in ('epoch_2.npz', 'epoch_3.npz'):
        (work / name).write_bytes((reference / name).read_bytes())
    if bad is not None:
        (work / 'last_checkpoint').write_text(bad)
    before = snapshot(work)
    message = refused(capsys, work, 'train_cfg.max_epochs=5', resume=True)
    assert str(work / 'last_checkpoint') in message and '--resume PATH' in message
    assert 'epoch_2.npz' in message and 'epoch_3.npz' in message
    assert snapshot(work) == before and sorted(os.listdir(work)) == sorted(map(str, before))


def test_pointer_and_checkpoints_get_the_usual_permissions(tmp_path):
    """Not 0600 (tempfile.mkstemp's): 0666 minus the umask, like any file the user writes."""
    old = os.umask(0o022)
    try:
        save_checkpoint({'a': np.zeros(2)}, str(tmp_path / 'c.npz'))
        os.umask(0o027)
        save_checkpoint({'a': np.zeros(2)}, str(tmp_path / 'd.npz'))
    finally:
        os.umask(old)
    assert (tmp_path / 'c.npz').stat().st_mode & 0o777 == 0o644
    assert (tmp_path / 'd.npz').stat().st_mode & 0o777 == 0o640


# -- kill -9 at random points ------------------------------------------------------------------
def check_work_dir(work):
    """What a kill may leave: every checkpoint is whole, the pointer is absent or names one."""
    for path in work.glob('*.npz'):
        if not path.name.startswith('.tmp_'):   # a killed save's temp file: removed at start
            load_checkpoint(str(path))           # a half-written checkpoint raises here
    if (work / 'last_checkpoint').exists():
        target = pointer(work).strip()
        assert target and os.path.isfile(target), f'bad pointer {pointer(work)!r}'
        return load_checkpoint(target)['meta']['epoch']
    return 0


def resume_option(work):
    """--resume, or the newest epoch checkpoint when a kill came before the first pointer was
    written (then --resume alone refuses, as tested above)."""
    if (work / 'last_checkpoint').exists() or not list(work.glob('epoch_*.npz')):
        return True
    return max(work.glob('epoch_*.npz'), key=lambda p: int(p.stem.split('_')[1]))


def kill_at_random_points(work, rounds, rng):
    for _ in range(rounds):
        log = work.parent / 'stderr.txt'
        with open(log, 'w') as err:
            proc = subprocess.Popen(
                [sys.executable, '-m', 'minicls.train', *cli_args(
                    work, 'train_cfg.max_epochs=100000', resume=resume_option(work))],
                stdout=subprocess.DEVNULL, stderr=err, env=ENV)
        try:
            deadline = time.time() + 60
            while 'Epoch(train)' not in log.read_text() and proc.poll() is None:
                assert time.time() < deadline, log.read_text()[-2000:]
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.4))   # mid-iteration, -validation or -save
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, log.read_text()[-2000:]
        check_work_dir(work)


def kill_and_resume(tmp_path, rounds):
    seed = random.randrange(2 ** 32)
    work = tmp_path / 'work'
    try:
        kill_at_random_points(work, rounds, random.Random(seed))
        epoch = check_work_dir(work)
        assert train(work, f'train_cfg.max_epochs={epoch + 1}', resume=resume_option(work)) == 0
        assert pointer(work) == str(work / f'epoch_{epoch + 1}.npz')
        assert not [p for p in work.iterdir() if p.name.startswith('.tmp_')]
    except BaseException:
        print(f'kill times drawn with random.Random({seed})')
        raise


@posix_only
def test_kill_9_at_random_points_then_resume(tmp_path):
    kill_and_resume(tmp_path, rounds=3)


@posix_only
@pytest.mark.slow
def test_kill_9_at_random_points_many_times(tmp_path):
    kill_and_resume(tmp_path, rounds=30)


# -- item 3: the second Ctrl-C ------------------------------------------------------------------
@posix_only
@pytest.mark.parametrize('second', [('after_train_iter', 5), ('before_save_checkpoint', 6)])
def test_second_ctrl_c_quits_without_saving(reference, tmp_path, second):
    """Ctrl-C before iteration 6 (epoch 2), again after its optimizer step but before the
    iteration is counted, or while the first Ctrl-C's checkpoint is being written: nothing is
    saved, last_checkpoint still names epoch_1, and resuming from it ends exactly where the
    uninterrupted run ends."""
    work = tmp_path / 'work'
    runner = make_runner(work, [dict(type='SigintHook', at=[('before_train_iter', 5), second])])
    try:
        runner.train()
    except KeyboardInterrupt:   # would stop pytest itself
        pytest.fail('the second Ctrl-C escaped Runner.train()')
    assert runner.interrupted
    assert not [p for p in work.iterdir() if p.name.startswith(('iter_', '.tmp_'))]
    assert pointer(work) == str(work / 'epoch_1.npz')
    assert 'Second Ctrl-C: quit at once without saving' in log_text(work)
    assert train(work, 'train_cfg.max_epochs=3', resume=True) == 0
    assert same_weights(work / 'epoch_3.npz', reference / 'epoch_3.npz')
    assert val_epochs(work) == val_epochs(reference)


# -- item 4 and 5: Ctrl-C during validation, rotation and clean-up ------------------------------
@posix_only
def test_ctrl_c_during_validation_is_validated_again_on_resume(reference, tmp_path):
    """Ctrl-C in epoch 2's validation: iter_8.npz is saved; the resumed run validates epoch 2
    again (its score and best checkpoint as in the uninterrupted run), then drops iter_8.npz
    once epoch_3.npz replaces it as the resume point, and epoch_1.npz (max_keep_ckpts=2)."""
    work = tmp_path / 'work'
    runner = make_runner(work, [dict(type='SigintHook', at=[('before_val_iter', 8)])])
    runner.train()
    assert runner.interrupted and pointer(work) == str(work / 'iter_8.npz')
    assert load_checkpoint(str(work / 'iter_8.npz'))['meta']['val_pending'] is True
    assert [step for step, _ in val_epochs(work)] == [1]
    assert train(work, 'train_cfg.max_epochs=3', resume=True) == 0
    assert 'Running again the validation of epoch 2' in log_text(work)
    assert val_epochs(work) == val_epochs(reference)
    best = sorted(p.name for p in work.glob('best_*.npz'))
    assert best == sorted(p.name for p in reference.glob('best_*.npz'))
    assert same_weights(work / best[0], reference / best[0])
    assert not (work / 'iter_8.npz').exists()
    assert 'Removed iter_8.npz' in log_text(work)
    # max_keep_ckpts=2 (quickstart) counted epoch_1.npz, saved before the resume
    assert sorted(p.name for p in work.glob('epoch_*.npz')) == ['epoch_2.npz', 'epoch_3.npz']
    assert same_weights(work / 'epoch_3.npz', reference / 'epoch_3.npz')


KILL_IN_VALIDATION = """
import os, signal, sys
from minicls.engine.runner import Runner
mode, sys.argv = sys.argv[1], sys.argv[:1] + sys.argv[2:]
call_hook, real_replace, writes = Runner.call_hook, os.replace, []
def kill_in_the_loop(self, name, **kwargs):   # epoch 2's validation, after its first batch
    if mode == 'loop' and name == 'after_val_iter' and self.epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    call_hook(self, name, **kwargs)
def replace(src, dst):   # epoch_2.npz written again once validated: die before the rename
    if mode == 'resave' and os.path.basename(dst) == 'epoch_2.npz':
        writes.append(dst)
        if len(writes) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
Runner.call_hook, os.replace = kill_in_the_loop, replace
from minicls.train import main
sys.exit(main(sys.argv[1:]))
"""


@posix_only
@pytest.mark.parametrize('mode', ['loop', 'resave'])
def test_kill_9_during_validation_is_validated_again_on_resume(reference, tmp_path, mode):
    """kill -9 inside epoch 2's validation loop, or while epoch_2.npz is written again once
    validated: epoch_2.npz (saved before the validation) says val_pending, so the resumed run
    validates epoch 2 first; its scores per epoch and best checkpoint are the uninterrupted
    run's, and an epoch checkpoint whose validation finished does not ask for it again."""
    work = tmp_path / 'work'
    done = subprocess.run([sys.executable, '-c', KILL_IN_VALIDATION, mode,
                           *cli_args(work, 'train_cfg.max_epochs=3')],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert pointer(work) == str(work / 'epoch_2.npz')
    assert load_checkpoint(str(work / 'epoch_2.npz'))['meta']['val_pending'] is True
    assert load_checkpoint(str(work / 'epoch_1.npz'))['meta']['val_pending'] is False
    assert train(work, 'train_cfg.max_epochs=3', resume=True) == 0
    assert 'Running again the validation of epoch 2' in log_text(work)
    scores = val_epochs(work)
    assert dict(scores) == dict(val_epochs(reference))
    assert [step for step, _ in scores] == ([1, 2, 3] if mode == 'loop' else [1, 2, 2, 3])
    best = sorted(p.name for p in work.glob('best_*.npz'))
    assert best == sorted(p.name for p in reference.glob('best_*.npz'))
    assert same_weights(work / best[0], reference / best[0])
    assert same_weights(work / 'epoch_3.npz', reference / 'epoch_3.npz')
    for name in ('epoch_2.npz', 'epoch_3.npz'):
        assert load_checkpoint(str(work / name))['meta']['val_pending'] is False
        assert load_checkpoint(str(reference / name))['meta']['val_pending'] is False


def test_max_keep_ckpts_leaves_other_runs_newer_checkpoints(reference, tmp_path):
    """Counting from disk never removes an epoch_N.npz with N above the epoch just saved."""
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'epoch_7.npz').write_bytes(b'another run')
    make_runner(work).train()
    assert sorted(p.name for p in work.glob('epoch_*.npz')) == [
        'epoch_2.npz', 'epoch_3.npz', 'epoch_7.npz']
