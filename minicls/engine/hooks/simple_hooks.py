"""Small default hooks: timing, the LR schedule, and mmengine names that need no work here."""
import logging
import time

from minicls.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Measure ``data_time`` (waiting for the loader) and ``time`` (a whole iteration).

    Both go into ``runner.log_buffer``; ``runner.eta_seconds`` is the mean iteration time of
    this run times the iterations left.
    """

    priority = 'NORMAL'

    def _start(self, runner):
        self._last = time.perf_counter()

    def before_train_epoch(self, runner):
        self._start(runner)

    def before_val_epoch(self, runner):
        self._start(runner)

    def before_test_epoch(self, runner):
        self._start(runner)

    def before_train(self, runner):
        self._sum, self._count = 0.0, 0

    def _before_iter(self, runner):
        runner.log_buffer.update({'data_time': time.perf_counter() - self._last})

    def _after_iter(self, runner):
        now = time.perf_counter()
        elapsed = now - self._last
        self._last = now
        runner.log_buffer.update({'time': elapsed})
        return elapsed

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        elapsed = self._after_iter(runner)
        self._sum += elapsed
        self._count += 1
        left = runner.max_iters - runner.iter - 1
        runner.eta_seconds = self._sum / self._count * left

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._after_iter(runner)

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._after_iter(runner)


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Step the schedulers: per-iteration ones after each iteration, per-epoch ones after
    each epoch (mmengine's ``ParamSchedulerHook``)."""

    priority = 'LOW'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for scheduler in runner.param_schedulers:
            if not scheduler.by_epoch:
                scheduler.step()

    def after_train_epoch(self, runner):
        for scheduler in runner.param_schedulers:
            if scheduler.by_epoch:
                scheduler.step()


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Accepted for mmpretrain configs. The runner already calls ``loader.set_epoch``."""


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Accepted for mmpretrain configs (the runner records its runtime info itself)."""

    priority = 'VERY_HIGH'


@HOOKS.register_module()
class VisualizationHook(Hook):
    """Accepted for mmpretrain configs; drawing predictions is not implemented (the
    pictures are ``minicls.tools.plot_curves`` and ``minicls.tools.confusion_matrix``).
    Its arguments (``enable``, ``interval``, ...) are accepted and not used, as mmpretrain's
    hook hands any extra ones on to its visualizer."""

    priority = 'LOWEST'

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        if kwargs.get('enable'):  # asked for pictures it cannot draw: say so
            logging.getLogger('minicls').warning(
                'VisualizationHook(enable=True): minicls does not draw predictions during '
                'validation; the run writes curves.png, and python -m minicls.tools.'
                'confusion_matrix draws the test predictions')
