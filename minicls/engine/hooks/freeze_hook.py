"""``FreezeParamsHook``: train some parameters for the first epochs only, then freeze them.

A parameter that is frozen (``requires_grad = False``) gets no gradient, so the optimizer
leaves it as it is: no step, no weight decay, its momentum unused (PyTorch's SGD skips a
parameter whose ``.grad`` is None, and so does minicls's). Freezing can also save work: when
nothing before a layer needs a gradient, the backward pass stops there. In the fast CIFAR-10
recipe the whitening conv's bias is the last trained parameter in front of the first 3x3 conv;
once it is frozen, that conv no longer computes a gradient for its input (a step of
FastCifarNet gets about 6% cheaper).

    custom_hooks = [dict(type='FreezeParamsHook', params=['backbone.whiten.bias'],
                         train_epochs=3)]

Explained in tutorials/13_training_fast.md.
"""
from minicls.config.errors import ConfigError, check_keys, check_number
from minicls.nn.parallel import unwrap
from minicls.registry import HOOKS

from .hook import Hook

__all__ = ['FreezeParamsHook']


@HOOKS.register_module()
class FreezeParamsHook(Hook):
    """Set ``requires_grad = False`` on named parameters once ``train_epochs`` epochs are done.

    Args:
        params (Sequence[str]): full parameter names, as ``model.named_parameters()`` gives
            them (e.g. ``'backbone.whiten.bias'``).
        train_epochs (int): how many epochs they are trained before they are frozen.
            0 freezes them from the start.

    A run resumed after ``train_epochs`` freezes them again before its first epoch.
    """

    priority = 'HIGH'

    def __init__(self, params, train_epochs):
        if isinstance(params, str):
            params = [params]
        self.params = [str(name) for name in params]
        if not self.params:
            raise ConfigError('FreezeParamsHook: params is empty; name the parameters to '
                              "freeze, e.g. params=['backbone.whiten.bias']")
        self.train_epochs = check_number(train_epochs, 'FreezeParamsHook: train_epochs', low=0)

    def _named(self, runner):
        named = dict(unwrap(runner.model).named_parameters())
        check_keys(self.params, named, 'FreezeParamsHook: the model', what='parameter',
                   max_listed=4)
        return [named[name] for name in self.params]

    def before_train(self, runner):
        self._named(runner)      # a misspelt name stops the run now, not epochs later

    def before_train_epoch(self, runner):
        if runner.epoch < self.train_epochs:
            return
        frozen = []
        for name, param in zip(self.params, self._named(runner)):
            if param.requires_grad:
                param.requires_grad = False
                param.grad = None
                frozen.append(name)
        if frozen:
            runner.logger.info(f'FreezeParamsHook: epoch {runner.epoch + 1}: froze '
                               f'{", ".join(frozen)} (trained for {self.train_epochs} epochs)')
