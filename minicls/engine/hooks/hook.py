"""``Hook``: code the runner calls at fixed points of training, validation and testing.

The runner calls ``runner.call_hook('after_train_iter', batch_idx=..., data_batch=...,
outputs=...)``, which calls that method on every hook, sorted by ``priority`` (a smaller
number runs first). A hook overrides only the points it needs. To add your own::

    from minicls.registry import HOOKS
    from minicls.engine import Hook

    @HOOKS.register_module()
    class PrintLossHook(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            print(outputs['loss'])

    custom_hooks = [dict(type='PrintLossHook')]      # in the config
"""
from minicls.config.errors import ConfigError

PRIORITIES = {'HIGHEST': 0, 'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50,
              'BELOW_NORMAL': 60, 'LOW': 70, 'VERY_LOW': 90, 'LOWEST': 100}


def get_priority(priority):
    """An int for ``priority`` given as an int or a name ('NORMAL', 'LOW'...)."""
    if isinstance(priority, int):
        return priority
    if isinstance(priority, str) and priority.upper() in PRIORITIES:
        return PRIORITIES[priority.upper()]
    raise ConfigError(f'unknown hook priority {priority!r}; use an int or one of '
                      f'{list(PRIORITIES)}')


class Hook:
    """Base class: every method does nothing."""

    priority = 'NORMAL'

    def before_run(self, runner): pass
    def after_run(self, runner): pass
    def before_train(self, runner): pass
    def after_train(self, runner): pass
    def before_train_epoch(self, runner): pass
    def after_train_epoch(self, runner): pass
    def before_train_iter(self, runner, batch_idx, data_batch=None): pass
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None): pass
    def before_val(self, runner): pass
    def after_val(self, runner): pass
    def before_val_epoch(self, runner): pass
    def after_val_epoch(self, runner, metrics=None): pass
    def before_val_iter(self, runner, batch_idx, data_batch=None): pass
    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None): pass
    def before_test(self, runner): pass
    def after_test(self, runner): pass
    def before_test_epoch(self, runner): pass
    def after_test_epoch(self, runner, metrics=None): pass
    def before_test_iter(self, runner, batch_idx, data_batch=None): pass
    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None): pass
    def before_save_checkpoint(self, runner, checkpoint): pass
    def after_load_checkpoint(self, runner, checkpoint): pass

    def every_n_inner_iters(self, batch_idx, n):
        return n > 0 and (batch_idx + 1) % n == 0
