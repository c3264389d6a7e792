"""``CheckpointHook``: save ``epoch_N.npz`` every ``interval`` epochs, and the best one."""
import os
import re

from minicls.config.errors import ConfigError, ConfigKeyError, check_number
from minicls.registry import HOOKS

from ..checkpoint import remove_stale_temp_files

from .hook import Hook


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints into the work dir (or ``out_dir``) during training.

    Args:
        interval (int): save every ``interval`` epochs (and after the last one if
            ``save_last``).
        by_epoch (bool): only epoch-based saving is implemented.
        max_keep_ckpts (int): keep the newest N ``epoch_*`` files (-1: keep all). It counts
            the ``epoch_<N>.npz`` files in the folder, so it goes on working after a resume;
            files with a larger N than the epoch just saved (another run's) are left alone.
        save_best (str | None): a metric name (``'accuracy/top1'``) or ``'auto'`` (the first
            metric of the evaluator) -- keeps ``best_<metric>_epoch_N.npz`` for the best
            validation score so far, removing the previous best.
        rule (str | None): ``'greater'`` or ``'less'``; default: greater for accuracy-like
            names, less for ``loss``.
        out_dir (str | None): where to save (default: the work dir).
        save_optimizer (bool): save the optimizer state too (needed to resume). Default: True.
        save_param_scheduler (bool): save the LR schedulers' state too. Default: True.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval=1, by_epoch=True, max_keep_ckpts=-1, save_best=None,
                 rule=None, save_last=True, out_dir=None, save_optimizer=True,
                 save_param_scheduler=True):
        if not by_epoch:
            raise ConfigError('CheckpointHook: by_epoch=False is not supported; minicls saves '
                              'checkpoints by epoch')
        if rule not in (None, 'greater', 'less'):
            raise ConfigError(f"CheckpointHook: rule must be 'greater' or 'less', got {rule!r}")
        self.interval = check_number(interval, 'CheckpointHook: interval', low=1)
        self.max_keep_ckpts = check_number(max_keep_ckpts, 'CheckpointHook: max_keep_ckpts')
        self.save_best = save_best
        self.rule = rule
        self.save_last = save_last
        self.out_dir = out_dir
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler

    def _folder(self, runner):
        return self.out_dir or runner.work_dir

    def before_train(self, runner):
        if self.out_dir:  # the runner cleans its work dir
            remove_stale_temp_files(self.out_dir, runner.logger)

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch % self.interval and not (self.save_last and epoch == runner.max_epochs):
            return
        path = os.path.join(self._folder(runner), f'epoch_{epoch}.npz')
        runner.save_checkpoint(path, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler)
        if self.max_keep_ckpts > 0:
            self._remove_old_checkpoints(runner, epoch)

    def _remove_old_checkpoints(self, runner, epoch):
        folder = self._folder(runner)
        saved = sorted(int(m.group(1)) for m in (re.fullmatch(r'epoch_(\d+)\.npz', name)
                                                 for name in os.listdir(folder))
                       if m and int(m.group(1)) <= epoch)
        for old in saved[:-self.max_keep_ckpts]:
            os.remove(os.path.join(folder, f'epoch_{old}.npz'))
            runner.logger.info(f'Removed epoch_{old}.npz (max_keep_ckpts={self.max_keep_ckpts})')

    def after_val_epoch(self, runner, metrics=None):
        if not self.save_best or not metrics:
            return
        key = next(iter(metrics)) if self.save_best == 'auto' else self.save_best
        if key not in metrics:
            raise ConfigKeyError(f'CheckpointHook: save_best={self.save_best!r} but the metrics '
                                 f'are {list(metrics)}')
        rule = self.rule or ('less' if 'loss' in key else 'greater')
        score = float(metrics[key])
        hub = runner.message_hub
        best = hub.get(f'best_score/{key}')
        if best is not None and not (score > best if rule == 'greater' else score < best):
            return
        old = hub.get('best_ckpt')
        name = f'best_{key.replace("/", "_")}_epoch_{runner.epoch}.npz'
        path = os.path.join(self._folder(runner), name)
        hub[f'best_score/{key}'] = score
        hub['best_ckpt'] = path
        runner.save_checkpoint(path, save_optimizer=False, save_param_scheduler=False,
                               update_last=False)
        if old and old != path and os.path.exists(old):
            os.remove(old)
        runner.logger.info(f'The best checkpoint with {score:.4f} {key} at {runner.epoch} '
                           f'epoch is saved to {name}.')
