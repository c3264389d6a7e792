"""The Runner's checkpoint side: saving, loading, resuming, and Ctrl-C.

A checkpoint holds what an exact resume needs: model weights, optimizer and scheduler states,
the counters (epoch, iteration, position in the epoch), the data loader's seed and every random
generator, plus meta (config text, class names, version). ``Runner`` inherits these methods.
"""
import os.path as osp
import random
import signal
import threading
import time

import numpy as np

import minicls

from .checkpoint import load_checkpoint, save_checkpoint


class CheckpointMixin:
    """Checkpoint methods of ``Runner`` (they use its model, optimizer, schedulers, logger)."""

    def _resume_path(self):
        resume, load_from = self.cfg.get('resume'), self.cfg.get('load_from')
        if not resume:
            return None
        if isinstance(resume, str):
            return resume
        if load_from:  # mmengine: resume=True with load_from resumes from that file
            return load_from
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            self.logger.info(f'resume=True but {pointer} does not exist: starting from scratch')
            return None
        with open(pointer, encoding='utf-8') as f:
            return f.read().strip()

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
                    dataset_meta=_plain_meta(self.dataset_meta))
        hub = dict(self.message_hub)
        hub.update(rng_state=minicls.get_rng_state(), numpy_rng_state=np.random.get_state(),
                   python_rng_state=random.getstate(),
                   loader_seed=getattr(loader, 'seed', None),
                   log_buffer=self.log_buffer.state_dict())
        checkpoint = dict(meta=meta, state_dict=self.model.state_dict(), message_hub=hub)
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint['optimizer'] = self.optim_wrapper.state_dict()
        if save_param_scheduler and self.param_schedulers:
            checkpoint['param_schedulers'] = [s.state_dict() for s in self.param_schedulers]
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        save_checkpoint(checkpoint, path)
        if update_last:
            with open(osp.join(self.work_dir, 'last_checkpoint'), 'w', encoding='utf-8') as f:
                f.write(osp.abspath(path))
        return path

    def load_checkpoint(self, path, resume=False, strict=None):
        """Load weights from ``path``; with ``resume`` also the optimizer, schedulers,
        counters, data order and random states."""
        if not resume:  # load_from: what fits is loaded, the rest is logged (strict: raises)
            from minicls.io import load_weights
            from .checkpoint import load_state_dict
            load_state_dict(self.model, load_weights(path), strict=bool(strict),
                            logger=self.logger, source=path)
            self.logger.info(f'Load checkpoint from {path}')
            return None
        checkpoint = load_checkpoint(path)
        self.model.load_state_dict(checkpoint['state_dict'])
        meta, hub = checkpoint['meta'], dict(checkpoint.get('message_hub', {}))
        if 'optimizer' in checkpoint and self.optim_wrapper is not None:
            self.optim_wrapper.load_state_dict(checkpoint['optimizer'])
        saved = checkpoint.get('param_schedulers', [])
        if len(saved) != len(self.param_schedulers):
            raise ValueError(f'{path} has {len(saved)} parameter schedulers but the config '
                             f'builds {len(self.param_schedulers)}: resume with the same config')
        for scheduler, state in zip(self.param_schedulers, saved):
            scheduler.load_state_dict(state)
        self.epoch, self.start_batch = int(meta['epoch']), int(meta.get('batch_idx', 0))
        self.iter = int(meta['iter'])
        self._position = (self.epoch, self.start_batch)
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
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        self.logger.info(f'Resumed from {path}: epoch {self.epoch}, iteration {self.iter}')
        return checkpoint

    # -- Ctrl-C --------------------------------------------------------------------------------
    def _install_sigint(self):
        """First Ctrl-C: finish the iteration, save, stop. Second Ctrl-C: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True
            self.logger.warning('Ctrl-C: stopping after this iteration and saving a checkpoint '
                                '(press Ctrl-C again to quit at once).')
        return signal.signal(signal.SIGINT, handler)

    def _save_interrupted(self):
        self.interrupted = True
        epoch, batch = self._position
        path = osp.join(self.work_dir, f'iter_{self.iter}.npz')
        self.save_checkpoint(path)
        self.logger.info(f'Interrupted in epoch {epoch + 1} after {batch} iterations: saved '
                         f'{path}. Continue with `python -m minicls.train CONFIG --resume` '
                         '(same work dir).')


def _plain_meta(meta):
    if not meta:
        return None
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(meta).items()
            if isinstance(v, (list, tuple, str, int, float, bool))}
