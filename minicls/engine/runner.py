"""``Runner``: builds everything a config describes and runs training, validation, testing.

The training loop, in plain words (mmengine's ``EpochBasedTrainLoop``)::

    for epoch in range(max_epochs):
        for batch in train_dataloader:
            data = model.data_preprocessor(batch, training=True)   # uint8 -> normalised float
            losses = model(**data, mode='loss')                    # {'loss': Tensor, ...}
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            loss.backward(); optimizer.step(); optimizer.zero_grad()
            (per-iteration schedulers step; hooks log, time, draw progress bars)
        (per-epoch schedulers step; a checkpoint is saved)
        every val_interval epochs: accuracy on val_dataloader, under no_grad and model.eval()

Everything else is in hooks (``minicls/engine/hooks``) that the loop calls at fixed points.
Resuming restores the model, optimizer, schedulers, counters, the data order and every random
generator, so an interrupted run continues exactly as if it had never stopped.
"""
import copy
import os
import os.path as osp
import random
import signal
import time

import numpy as np

import minicls
import minicls.distributed
from minicls.backend import parse_device
from minicls.config import Config
from minicls.config.errors import ConfigError, ConfigKeyError
from minicls.datasets.checks import check_datasets, check_not_empty
from minicls.models.losses.utils import parse_losses
from minicls.registry import HOOKS, MODELS

from . import distributed as ddp
from .checkpoint import remove_stale_temp_files
from .evaluator import Evaluator
from .hooks.hook import get_priority
from .logger import LogBuffer, ScalarWriter, get_logger
from .optim import build_optim_wrapper
from .runner_checkpoint import CheckpointMixin
from .schedulers import build_param_schedulers
from .sections import check_sections

__all__ = ['Runner']

DEFAULT_HOOKS = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    progress_bar=dict(type='ProgressBarHook'),
    check_invalid_loss=dict(type='CheckInvalidLossHook', interval=1),  # None: switched off
    summary=dict(type='RunSummaryHook'),  # curves.png, and what the run gave at its end
)


def _to_dict(value):
    return value.to_dict() if hasattr(value, 'to_dict') else copy.deepcopy(value)


class Runner(CheckpointMixin):
    """Run a config. ``Runner.from_cfg(cfg).train()``; also ``.val()`` and ``.test()``.

    ``cfg`` is a :class:`minicls.config.Config` (or a dict) with mmpretrain's keys: ``model``,
    ``train_dataloader``, ``val_dataloader``, ``val_evaluator``, ``test_dataloader``,
    ``test_evaluator``, ``optim_wrapper``, ``param_scheduler``, ``train_cfg``,
    ``default_hooks``, ``custom_hooks``, ``work_dir``, ``load_from``, ``resume``,
    ``randomness``, ``auto_scale_lr`` and minicls's ``device``. ``model`` and the
    dataloaders may also be ready-made objects.
    """

    def __init__(self, cfg):
        cfg = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(copy.deepcopy(dict(cfg)))
        check_sections(cfg)
        self.cfg = cfg
        stem = osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else 'default'
        self.experiment_stem = stem
        self.work_dir = osp.abspath(cfg.get('work_dir') or osp.join('work_dirs', stem))
        self.timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.device = parse_device(cfg.get('device', 'cpu'))
        seed = (cfg.get('randomness') or {}).get('seed')
        self.seed = ddp.sync_seed(int(seed) if seed is not None else int(
            np.random.SeedSequence().entropy % (2 ** 31)))  # several ranks: rank 0's
        self._set_randomness(self.seed)
        self.model = ddp.wrap_model(self._build_model(cfg.model))  # several ranks: DDP
        self.logger = get_logger('minicls')
        self.log_buffer = LogBuffer()
        self.scalar_writer = None
        self.message_hub = {}
        self.epoch, self.iter, self.start_batch = 0, 0, 0
        self._position = (0, 0)
        self.max_epochs = self.max_iters = 0
        self.optim_wrapper, self.param_schedulers = None, []
        self.eta_seconds = 0.0
        self.interrupted = False
        self._stop_requested = False
        self._quit_now = False  # a second Ctrl-C: stop without saving
        self._val_pending = False  # validation of the last epoch not done: saved with it
        self._val_plan, self._pending_ckpt = (False, 1, 1), None  # runner_checkpoint.py
        self._resume_checkpoint = None  # (path, checkpoint) read by _resume_path
        self._loaders = {}
        self.dataset_meta = None
        self.hooks = []
        self._register_hooks(cfg.get('default_hooks'), cfg.get('custom_hooks'))
        if minicls.distributed.is_initialized():
            self.register_hook(ddp.RankBarrierHook())

    @classmethod
    def from_cfg(cls, cfg):
        return cls(cfg)

    # -- building ----------------------------------------------------------------------------
    @staticmethod
    def _set_randomness(seed):
        minicls.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)

    def _build_model(self, model_cfg):
        if isinstance(model_cfg, dict):
            model_cfg = _to_dict(model_cfg)
            preprocessor = self.cfg.get('data_preprocessor')
            if preprocessor is not None:  # mmengine: the top-level key goes into the model
                model_cfg.setdefault('data_preprocessor', _to_dict(preprocessor))
            model = MODELS.build(model_cfg)
            if hasattr(model, 'init_weights'):
                model.init_weights()
        else:
            model = model_cfg
        if self.device != 'cpu':
            model.to(self.device)
        return model

    def _register_hooks(self, default_hooks, custom_hooks):
        hooks = copy.deepcopy(DEFAULT_HOOKS)
        for name, hook in (_to_dict(default_hooks) or {}).items():
            if hook is None:
                hooks.pop(name, None)
            elif name in hooks and isinstance(hook, dict) and hook.get('type') in (
                    None, hooks[name]['type']):
                hooks[name] = {**hooks[name], **hook}
            else:
                hooks[name] = hook
        named = [(f'default_hooks.{name}', hook) for name, hook in hooks.items()]
        named += [(f'custom_hooks[{i}]', hook) for i, hook in enumerate(custom_hooks or [])]
        for where, hook in named:
            try:
                self.register_hook(_to_dict(hook))
            except ConfigError as err:  # say where in the config the hook is
                raise type(err)(f'{where}: {err}') from None

    def register_hook(self, hook, priority=None):
        """Add a hook (an object or a config dict); hooks run sorted by priority."""
        if isinstance(hook, dict):
            hook = dict(hook)
            priority = hook.pop('priority', priority)
            hook = HOOKS.build(hook)
        if not ddp.keep_hook(hook):  # several ranks: hooks that write run on rank 0 only
            return
        if priority is not None:
            hook.priority = priority
        value = get_priority(getattr(hook, 'priority', 'NORMAL'))
        index = len(self.hooks)
        for i, other in enumerate(self.hooks):  # stable: equal priorities keep their order
            if value < get_priority(getattr(other, 'priority', 'NORMAL')):
                index = i
                break
        self.hooks.insert(index, hook)

    def call_hook(self, name, **kwargs):
        for hook in self.hooks:
            getattr(hook, name)(self, **kwargs)

    def _loader(self, key):
        if key not in self._loaders:
            cfg = self.cfg.get(key)
            if cfg is None:
                raise ConfigKeyError(f'the config has no {key}')
            if isinstance(cfg, dict):
                from minicls.datasets import build_dataloader
                cfg = build_dataloader(_to_dict(cfg), seed=self.seed)
            self._loaders[key] = cfg
            if self.dataset_meta is None:
                self.dataset_meta = getattr(cfg.dataset, 'metainfo', None)
        return self._loaders[key]

    @property
    def train_dataloader(self):
        return self._loader('train_dataloader')

    @property
    def val_dataloader(self):
        return self._loader('val_dataloader')

    @property
    def test_dataloader(self):
        return self._loader('test_dataloader')

    def memory_mb(self):
        return None

    def _start_logs(self, mode):
        if minicls.distributed.get_rank() != 0:  # rank 0 logs for all; others: errors only
            self.logger = get_logger('minicls', level='ERROR')
            return
        log_dir = osp.join(self.work_dir, self.timestamp)
        os.makedirs(log_dir, exist_ok=True)
        self.logger = get_logger('minicls', osp.join(log_dir, f'{self.timestamp}.log'))
        self.scalar_writer = ScalarWriter(osp.join(log_dir, 'vis_data', 'scalars.json'))
        if self.device != 'cpu':
            # MB held by CuPy's memory pool: freed blocks stay cached there, so this follows
            # the peak, like mmengine's `memory` (max_memory_allocated). used_bytes() would
            # show only what lives between steps (weights, gradients, optimizer state).
            pool = minicls.backend.cupy.get_default_memory_pool()
            self.memory_mb = lambda: int(pool.total_bytes() / 2 ** 20)
        else:
            self.memory_mb = None
        if mode == 'train':
            name = osp.basename(self.cfg.filename) if self.cfg.filename else 'config.py'
            self.cfg.dump(osp.join(self.work_dir, name if name.endswith('.py') else 'config.py'))
            self.cfg.dump(osp.join(log_dir, 'vis_data', 'config.py'))
        self.logger.info(f'minicls {minicls.__version__}, device {self.device}, seed '
                         f'{self.seed}, work_dir {self.work_dir}')

    # -- training ------------------------------------------------------------------------------
    def train(self):
        """Train for ``train_cfg.max_epochs`` epochs; returns the model."""
        resume_from = self._resume_path()  # first: a bad last_checkpoint stops before any write
        self._start_logs('train')
        if minicls.distributed.get_rank() == 0:
            remove_stale_temp_files(self.work_dir, self.logger)  # left by a run killed mid-save
        train_cfg = dict(self.cfg.get('train_cfg') or {})
        if not train_cfg.get('by_epoch', True):
            raise NotImplementedError('minicls trains by epoch: use train_cfg=dict(by_epoch=True, '
                                      'max_epochs=N)')
        self.max_epochs = int(train_cfg.get('max_epochs', 1))
        do_val = self.cfg.get('val_dataloader') is not None and self.cfg.get('val_cfg', {}) \
            is not None and self.cfg.get('val_evaluator') is not None
        self._val_plan = (do_val, int(train_cfg.get('val_begin', 1)),
                          int(train_cfg.get('val_interval', 1)))
        loader = check_not_empty('train_dataloader', self.train_dataloader)
        if do_val:  # built now, so that an empty one fails before training, not after it
            check_not_empty('val_dataloader', self.val_dataloader)
        model = ddp.unwrap(self.model)  # the model inside DistributedDataParallel, if any
        check_datasets(model, getattr(loader, 'dataset', None),  # minicls/datasets/checks.py
                       getattr(self.val_dataloader, 'dataset', None) if do_val else None, self.cfg)
        self.max_iters = self.max_epochs * len(loader)
        self.optim_wrapper = build_optim_wrapper(model, self._optim_cfg(loader))
        self.param_schedulers = build_param_schedulers(
            _to_dict(self.cfg.get('param_scheduler')), self.optim_wrapper, len(loader),
            self.max_epochs, self.max_iters)
        if resume_from:
            self.load_checkpoint(resume_from, resume=True)
        elif self.cfg.get('load_from'):
            self.load_checkpoint(self.cfg.load_from)
        self.logger.info(f'Training {self.max_epochs} epochs of {len(loader)} iterations; '
                         f'checkpoints in {self.work_dir}')
        old_handler = self._install_sigint()
        self.call_hook('before_run')
        self.call_hook('before_train')
        try:
            self._redo_interrupted_val(do_val)  # resumed from a Ctrl-C in validation
            while self.epoch < self.max_epochs:
                self._train_epoch()
                self.epoch += 1
                self.start_batch = 0
                if self._val_due(self.epoch):
                    self._eval_epoch('val')
        except KeyboardInterrupt:
            if minicls.distributed.is_initialized():
                raise  # ranks stop at different iterations: end them all (MPI_Abort)
            self._save_interrupted()
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        self.call_hook('after_train')
        self.call_hook('after_run')
        return self.model

    def _optim_cfg(self, loader):
        cfg = _to_dict(self.cfg.get('optim_wrapper'))
        if cfg is None:
            raise ConfigKeyError('the config has no optim_wrapper, e.g. optim_wrapper=dict('
                                 "optimizer=dict(type='SGD', lr=0.1, momentum=0.9))")
        scale = _to_dict(self.cfg.get('auto_scale_lr')) or {}
        if scale.get('enable') and scale.get('base_batch_size'):
            batch = loader.batch_size * minicls.distributed.get_world_size()  # all ranks'
            factor = batch / scale['base_batch_size']
            cfg['optimizer']['lr'] = cfg['optimizer']['lr'] * factor
            self.logger.info(f'LR is set based on batch size of {scale["base_batch_size"]} and '
                             f'the current batch size is {batch}. Scaling the '
                             f'original LR by {factor}.')
        return cfg

    def train_step(self, data_batch):
        """One optimisation step; returns the floats to log (``loss`` and its parts)."""
        data = self.model.data_preprocessor(data_batch, training=True)
        total, log_vars = parse_losses(self.model(**data, mode='loss'))
        self.optim_wrapper.update_params(total)
        return log_vars

    def _batches(self, loader, epoch, start):
        """(batch_idx, batch) for one epoch, from batch ``start`` on (resuming mid-epoch)."""
        if start == 0:
            if hasattr(loader, 'set_epoch'):
                loader.set_epoch(epoch)
            yield from enumerate(loader)
            return
        if not hasattr(loader, 'batch_indices'):
            raise RuntimeError('resuming in the middle of an epoch needs a minicls DataLoader')
        for index, indices in enumerate(loader.batch_indices(epoch)):
            if index >= start:
                yield index, loader.load_batch(epoch, index, indices)

    def _train_epoch(self):
        self.model.train()
        self.call_hook('before_train_epoch')
        for batch_idx, batch in self._batches(self.train_dataloader, self.epoch,
                                              self.start_batch):
            self.call_hook('before_train_iter', batch_idx=batch_idx, data_batch=batch)
            outputs = self.train_step(batch)
            self.call_hook('after_train_iter', batch_idx=batch_idx, data_batch=batch,
                           outputs=outputs)
            self.iter += 1
            self._position = (self.epoch, batch_idx + 1)
            if self._stop_requested:
                raise KeyboardInterrupt
        self._position = (self.epoch + 1, 0)
        self._val_pending = self._val_due(self.epoch + 1)  # the epoch's checkpoint asks for it
        self.call_hook('after_train_epoch')

    # -- evaluation ----------------------------------------------------------------------------
    def _eval_epoch(self, mode):
        loader = self.val_dataloader if mode == 'val' else self.test_dataloader
        key = f'{mode}_evaluator'
        evaluator = Evaluator(self.cfg.get(key) or self.cfg.get('val_evaluator'))
        if hasattr(loader, 'set_epoch'):
            loader.set_epoch(0)
        self.call_hook(f'before_{mode}_epoch')
        self.model.eval()
        self._val_pending = mode == 'val'
        with minicls.no_grad():
            for batch_idx, batch in enumerate(loader):
                self.call_hook(f'before_{mode}_iter', batch_idx=batch_idx, data_batch=batch)
                data = self.model.data_preprocessor(batch, training=False)
                outputs = self.model(**data, mode='predict')
                evaluator.process(batch, outputs)
                self.call_hook(f'after_{mode}_iter', batch_idx=batch_idx, data_batch=batch,
                               outputs=outputs)
                if self._stop_requested:
                    raise KeyboardInterrupt
        self._val_pending = False
        self.model.train()
        metrics = evaluator.evaluate(len(loader.dataset))
        self.call_hook(f'after_{mode}_epoch', metrics=metrics)
        if mode == 'val':
            self._resave_validated()  # the checkpoint saved before it no longer asks for it
        return metrics

    def val(self):
        """Evaluate on ``val_dataloader`` (weights from ``load_from``); returns the metrics."""
        return self._evaluate_only('val')

    def test(self):
        """Evaluate on ``test_dataloader`` (weights from ``load_from``); returns the metrics."""
        return self._evaluate_only('test')

    def _evaluate_only(self, mode):
        self._start_logs(mode)
        check_not_empty(f'{mode}_dataloader', self._loader(f'{mode}_dataloader'))
        if self.cfg.get('load_from'):  # testing a model needs every weight
            self.load_checkpoint(self.cfg.load_from, strict=True)
        self.call_hook('before_run')
        self.call_hook(f'before_{mode}')
        metrics = self._eval_epoch(mode)
        self.call_hook(f'after_{mode}')
        self.call_hook('after_run')
        return metrics
