"""The Runner's checkpoint side: saving, loading, resuming, and Ctrl-C.

A checkpoint holds what an exact resume needs: model weights, optimizer and scheduler states,
the counters (epoch, iteration, position in the epoch), the data loader's seed and every random
generator, plus meta (config text, class names, version). ``Runner`` inherits these methods.
A resume whose config does not fit the checkpoint (another model, optimizer, schedulers or
hooks) raises a CheckpointError naming the file, the part and the way out (``_loading``).
"""
import contextlib
import os
import os.path as osp
import random
import re
import signal
import threading
import time

import numpy as np

import minicls
import minicls.distributed

from minicls.config.errors import ConfigError
from minicls.io import load_weights

from .checkpoint import (CheckpointError, atomic_write, load_checkpoint, load_state_dict,
                         save_checkpoint)
from .distributed import unwrap


class CheckpointMixin:
    """Checkpoint methods of ``Runner`` (they use its model, optimizer, schedulers, logger)."""

    def _resume_path(self):
        """The checkpoint to resume from (None: start from scratch), read and checked: a
        missing, damaged or foreign file, or a bad ``last_checkpoint``, raises a
        CheckpointError before anything (the log folder) is written."""
        path = self._find_resume_path()
        if path is not None:
            self._resume_checkpoint = (path, self._read_resumable(path))  # load_checkpoint's
        return path

    def _read_resumable(self, path):
        try:
            checkpoint = load_checkpoint(path)
            _check_resumable(checkpoint, path)
        except CheckpointError as err:
            raise CheckpointError(f'{err} {self._listing()} Resume from another with '
                                  '`--resume PATH`.') from err
        return checkpoint

    def _find_resume_path(self):
        resume, load_from = self.cfg.get('resume'), self.cfg.get('load_from')
        if not resume:
            return None
        if isinstance(resume, str) or load_from:  # mmengine: resume=True resumes load_from
            path = resume if isinstance(resume, str) else load_from
            if not osp.isfile(path):
                raise CheckpointError(f'cannot resume: {path} does not exist. '
                                      + self._listing())
            return path
        pointer, path = osp.join(self.work_dir, 'last_checkpoint'), self._read_pointer()
        if path is None:
            if _checkpoints_in(self.work_dir):  # starting over would overwrite them
                raise CheckpointError(self._no_resume_point(pointer, 'does not exist'))
            self.logger.warning(f'resume=True but {pointer} does not exist and the work dir '
                                'holds no checkpoint: starting from scratch')
            return None
        if not path:
            raise CheckpointError(self._no_resume_point(pointer, 'is empty'))
        if not osp.isfile(path):
            raise CheckpointError(self._no_resume_point(
                pointer, f'points to {path}, which does not exist'))
        return path

    def _read_pointer(self):
        """What ``<work_dir>/last_checkpoint`` names ('' when empty, None when absent)."""
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return None
        with open(pointer, encoding='utf-8') as f:
            return f.read().strip()

    def _no_resume_point(self, pointer, problem):
        return (f'cannot resume: {pointer} {problem}. {self._listing()} Resume from one '
                'explicitly with `python -m minicls.train CONFIG --resume PATH` (resume=PATH '
                'in a config), or start from scratch with resume=False (or another work dir). '
                'Nothing was changed on disk.')

    def _listing(self):
        found = _checkpoints_in(self.work_dir)
        return (f'The checkpoints in {self.work_dir} are: {", ".join(found)}.' if found
                else f'There is no checkpoint in {self.work_dir}.')

    # -- checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self, path, save_optimizer=True, save_param_scheduler=True,
                        update_last=True):
        """Save the model (and what resuming needs) to ``path``; point ``last_checkpoint``
        at it."""
        epoch, batch_idx = self._position
        loader = self._loaders.get('train_dataloader')
        meta = dict(epoch=epoch, iter=self.iter, batch_idx=batch_idx, seed=self.seed,
                    cfg=self.cfg.pretty_text, experiment_name=f'{self.experiment_stem}_'
                    f'{self.timestamp}', time=time.strftime('%Y%m%d_%H%M%S'),
                    minicls_version=minicls.__version__,
                    dataset_meta=_plain_meta(self.dataset_meta),
                    val_pending=self._val_pending)  # resume validates this epoch first
        hub = dict(self.message_hub)
        hub.update(rng_state=minicls.get_rng_state(), numpy_rng_state=np.random.get_state(),
                   python_rng_state=random.getstate(),
                   loader_seed=getattr(loader, 'seed', None),
                   log_buffer=self.log_buffer.state_dict())
        checkpoint = dict(meta=meta, state_dict=unwrap(self.model).state_dict(), message_hub=hub)
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint['optimizer'] = self.optim_wrapper.state_dict()
        if save_param_scheduler and self.param_schedulers:
            checkpoint['param_schedulers'] = [s.state_dict() for s in self.param_schedulers]
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        save_checkpoint(checkpoint, path)
        if update_last:
            pointer = osp.abspath(path).encode('utf-8')
            atomic_write(osp.join(self.work_dir, 'last_checkpoint'), lambda f: f.write(pointer))
            self._remove_older_interrupt_checkpoints(path)
            self._pending_ckpt = (path, dict(save_optimizer=save_optimizer, save_param_scheduler=
                                             save_param_scheduler)) if self._val_pending else None
        return path

    def _val_due(self, epoch):
        """Whether validation follows training epoch ``epoch`` (counted from 1)."""
        do_val, begin, interval = self._val_plan
        return do_val and epoch >= begin and (epoch % interval == 0 or epoch == self.max_epochs)

    def _resave_validated(self):
        """Validation has finished: save again the checkpoint saved before it with
        ``val_pending`` (so that a resume from it does not validate again), now holding the
        validation's results (best score). Atomic like every save: a kill during it leaves the
        first version, and a resume from that one validates the epoch again."""
        pending, self._pending_ckpt = self._pending_ckpt, None
        if pending and self._read_pointer() == osp.abspath(pending[0]):  # still the resume point
            self.save_checkpoint(pending[0], update_last=False, **pending[1])

    def _remove_older_interrupt_checkpoints(self, path):
        """Delete the ``iter_N.npz`` a Ctrl-C saved once a later checkpoint replaces it as
        the resume point (only ``iter_<number>.npz`` in the work dir, up to this iteration)."""
        for name in _checkpoints_in(self.work_dir):
            match = re.fullmatch(r'iter_(\d+)\.npz', name)
            old = osp.join(self.work_dir, name)
            if match and int(match.group(1)) <= self.iter and not osp.samefile(old, path):
                os.remove(old)
                self.logger.info(f'Removed {name} (saved on Ctrl-C): {osp.basename(path)} '
                                 'is the newer resume point')

    def load_checkpoint(self, path, resume=False, strict=None):
        """Load weights from ``path``; with ``resume`` also the optimizer, schedulers,
        counters, data order and random states."""
        if not resume:  # load_from: what fits is loaded, the rest is logged (strict: raises)
            load_state_dict(unwrap(self.model), load_weights(path), strict=bool(strict),
                            logger=self.logger, source=path)
            self.logger.info(f'Load checkpoint from {path}')
            return None
        read, self._resume_checkpoint = self._resume_checkpoint, None
        checkpoint = read[1] if read and read[0] == path else self._read_resumable(path)
        with _loading(path, 'model weights', 'model'):
            unwrap(self.model).load_state_dict(checkpoint['state_dict'])
        meta, hub = checkpoint['meta'], dict(checkpoint.get('message_hub', {}))
        if 'optimizer' in checkpoint and self.optim_wrapper is not None:
            with _loading(path, 'optimizer state', 'optim_wrapper (and paramwise_cfg)'):
                self.optim_wrapper.load_state_dict(checkpoint['optimizer'])
        self._load_schedulers(path, checkpoint.get('param_schedulers', []))
        self.epoch, self.start_batch = int(meta['epoch']), int(meta.get('batch_idx', 0))
        self.iter = int(meta['iter'])
        self._position = (self.epoch, self.start_batch)
        self._val_pending = bool(meta.get('val_pending', False))
        if self._val_pending and minicls.distributed.get_rank() == 0 and \
                self._read_pointer() == osp.abspath(path):  # saved again once validated
            self._pending_ckpt = (path, dict(save_optimizer='optimizer' in checkpoint,
                                             save_param_scheduler='param_schedulers' in checkpoint))
        if meta.get('seed') is not None:
            self.seed = int(meta['seed'])
        minicls.set_rng_state(hub.pop('rng_state'))
        np.random.set_state(hub.pop('numpy_rng_state'))
        state = hub.pop('python_rng_state')
        random.setstate((state[0], tuple(state[1]), state[2]))
        loader_seed = hub.pop('loader_seed', None)
        if loader_seed is not None and hasattr(self.train_dataloader, 'seed'):
            self.train_dataloader.seed = int(loader_seed)
        self.log_buffer.load_state_dict(hub.pop('log_buffer', {}))
        self.message_hub.update(hub)
        if meta.get('dataset_meta'):
            self.dataset_meta = meta['dataset_meta']
        for hook in self.hooks:  # call_hook, naming the hook whose state does not fit
            with _loading(path, f'{type(hook).__name__} state', 'hooks'):
                hook.after_load_checkpoint(self, checkpoint=checkpoint)
        self.logger.info(f'Resumed from {path}: epoch {self.epoch}, iteration {self.iter}')
        return checkpoint

    def _load_schedulers(self, path, saved):
        """The schedulers' states, in order: as many as the config builds, each of its kind."""
        if len(saved) != len(self.param_schedulers):
            built = ', '.join(type(s).__name__ for s in self.param_schedulers) or 'none'
            why = ('it was saved with save_param_scheduler=False, as best_*.npz are' if not saved
                   else 'a scheduler with no end that would begin after the last epoch is '
                   'skipped, so train_cfg.max_epochs counts too')
            raise CheckpointError(_cannot_resume(
                path, f'it holds the state of {len(saved)} parameter scheduler(s), but '
                f'param_scheduler builds {len(self.param_schedulers)} ({built}); {why}',
                'param_scheduler'))
        for i, (scheduler, state) in enumerate(zip(self.param_schedulers, saved)):
            with _loading(path, f'param_scheduler {i} ({type(scheduler).__name__}) state',
                          'param_scheduler'):
                scheduler.load_state_dict(state)

    def _redo_interrupted_val(self, do_val):
        """Resumed from a checkpoint saved before its epoch's validation finished (Ctrl-C
        during validation, or a kill during or just before it): run that validation now (its
        metrics and best checkpoint would be lost otherwise)."""
        if not self._val_pending:
            return
        self._val_pending = False
        if not do_val:
            self.logger.info(f'Validation is off: the validation of epoch {self.epoch}, which '
                             'did not finish before the run stopped, is not run again')
            return
        self.logger.info(f'Running again the validation of epoch {self.epoch}, which did not '
                         'finish before the run stopped')
        self._eval_epoch('val')

    # -- Ctrl-C --------------------------------------------------------------------------------
    def _install_sigint(self):
        """First Ctrl-C: finish the iteration, save, stop. Second Ctrl-C: stop at once,
        saving nothing (the iteration it interrupts is half done)."""
        if threading.current_thread() is not threading.main_thread() or \
                minicls.distributed.is_initialized():  # several ranks: Ctrl-C ends them all
            return None

        def handler(signum, frame):
            if self._stop_requested:
                self._quit_now = True
                raise KeyboardInterrupt
            self._stop_requested = True
            self.logger.warning('Ctrl-C: stopping after this iteration and saving a checkpoint '
                                '(press Ctrl-C again to quit at once).')
        return signal.signal(signal.SIGINT, handler)

    def _save_interrupted(self):
        self.interrupted = True
        if not self._quit_now:
            epoch, batch = self._position
            path = osp.join(self.work_dir, f'iter_{self.iter}.npz')
            try:
                self.save_checkpoint(path)
            except KeyboardInterrupt:  # a second Ctrl-C while saving (the file stays whole)
                pass
            else:
                where = ('during the validation' if self._val_pending
                         else f'after {batch} iterations')
                self.logger.info(f'Interrupted in epoch {epoch + 1} {where}: saved {path}. '
                                 'Continue with `python -m minicls.train CONFIG --resume` '
                                 '(same work dir).')
                return
        last = self._read_pointer()
        self.logger.warning('Second Ctrl-C: quit at once without saving. ' + (
            f'`--resume` goes on from {last}.' if last else
            'No checkpoint was saved in this work dir yet.'))


def _cannot_resume(path, what, setting):
    return (f'cannot resume from {path}: {what}. Resume with the {setting} of the run that '
            f'saved it, or start a new run without --resume (resume=False), with '
            f"load_from='{path}' to begin from its weights only.")


@contextlib.contextmanager
def _loading(path, part, setting, most=300):
    """A ``load_state_dict`` in a resume: a state that does not fit the run (ValueError,
    KeyError, TypeError, or the RuntimeError of ``Module.load_state_dict``) becomes a
    CheckpointError naming the checkpoint and the part, shortened to one line of at most
    ``most`` characters of the original message (``--debug`` shows it all)."""
    try:
        yield
    except (ConfigError, CheckpointError):  # a hook's bad argument, a message already made
        raise
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        detail = err.args[0] if isinstance(err, KeyError) and err.args else err
        detail = ' '.join(str(detail).split())
        if len(detail) > most:
            detail = detail[:most] + '... (--debug shows all)'
        raise CheckpointError(_cannot_resume(
            path, f'its {part} cannot be loaded: {detail}', setting)) from err


def _check_resumable(checkpoint, path):
    """Raise a CheckpointError naming what a resume needs and ``checkpoint`` lacks."""
    meta, hub = checkpoint.get('meta'), checkpoint.get('message_hub')
    missing = [key for key in ('meta', 'state_dict', 'message_hub')
               if not isinstance(checkpoint.get(key), dict)]
    if isinstance(meta, dict):
        missing += [f'meta.{key}' for key in ('epoch', 'iter') if key not in meta]
    if isinstance(hub, dict):
        missing += [f'message_hub.{key}' for key in
                    ('rng_state', 'numpy_rng_state', 'python_rng_state') if key not in hub]
    if missing:
        raise CheckpointError(
            f'cannot resume from {path}: it has no {", ".join(missing)}. It was not saved by '
            'a minicls training run (or was edited); load its weights only with '
            f"load_from='{path}' instead of resuming.")


def _checkpoints_in(folder):
    """Names of the checkpoint files (``*.npz``, not temporary) in ``folder``, oldest first."""
    if not osp.isdir(folder):
        return []
    names = [n for n in os.listdir(folder) if n.endswith('.npz') and not n.startswith('.')]
    return sorted(names, key=lambda n: osp.getmtime(osp.join(folder, n)))


def _plain_meta(meta):
    if not meta:
        return None
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(meta).items()
            if isinstance(v, (list, tuple, str, int, float, bool))}
