"""``EMAHook``: keep an exponential moving average of the weights; validate and save it.

As mmengine's ``EMAHook``: after each training iteration the averaged model is updated (before
``begin_iter``/``begin_epoch`` it just copies the weights); validation and testing run with the
averaged weights swapped in; a checkpoint stores the averaged weights under ``state_dict`` (so
``python -m minicls.test`` and ``load_from`` use them) and the training weights under
``ema_state_dict`` with the average's keys swapped, so that ``resume`` continues exactly.
One difference from mmengine, which swaps every key: the BN buffers are swapped only when the
average averages them (``update_buffers=True``); otherwise the checkpoint keeps the model's,
which are the ones validation used (mmengine would save the average's copy from the last
step, and so lose statistics that ``PreciseBNHook`` recomputed after it).
Several ranks: the model inside ``DistributedDataParallel`` is averaged (its own names).

    custom_hooks = [dict(type='EMAHook', momentum=0.0002, priority='ABOVE_NORMAL')]

Explained in tutorials/13_training_fast.md.
"""
from minicls.config.errors import ConfigError, check_number
from minicls.nn.parallel import unwrap
from minicls.registry import HOOKS, MODELS

from .hook import Hook

__all__ = ['EMAHook']


@HOOKS.register_module()
class EMAHook(Hook):
    """Args:
        ema_type (str): the averaged-model class in ``MODELS``.
            Defaults to ``'ExponentialMovingAverage'``.
        strict_load (bool): kept for mmengine configs; minicls always loads all keys.
        begin_iter (int): start averaging at this iteration. Defaults to 0.
        begin_epoch (int): start averaging at this epoch. Defaults to 0.
        **kwargs: the averaged model's arguments (``momentum``, ``interval``,
            ``update_buffers``).
    """

    priority = 'NORMAL'

    def __init__(self, ema_type='ExponentialMovingAverage', strict_load=False, begin_iter=0,
                 begin_epoch=0, **kwargs):
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.strict_load = strict_load
        self.begin_iter = check_number(begin_iter, 'EMAHook: begin_iter', low=0)
        self.begin_epoch = check_number(begin_epoch, 'EMAHook: begin_epoch', low=0)
        self.ema = None

    def before_run(self, runner):
        if self.ema is None:   # a resumed run built it already, in after_load_checkpoint
            self._build(runner)

    def _build(self, runner):
        import minicls.models  # noqa: F401  (registers ExponentialMovingAverage)
        try:
            self.ema = MODELS.build(self.ema_cfg, default_args=dict(model=unwrap(runner.model)))
        except ConfigError as err:  # momentum='fast': say which hook it came from
            raise type(err)(f'EMAHook: {err}') from err

    def _started(self, runner):
        return runner.iter + 1 >= self.begin_iter and runner.epoch + 1 >= self.begin_epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._started(runner):
            self.ema.update_parameters(unwrap(runner.model))
        else:  # not yet: the average follows the weights
            for name, p in unwrap(runner.model).named_parameters():
                self.ema.params[name][...] = p.data

    def before_val_epoch(self, runner):
        self.ema.swap(unwrap(runner.model))

    def after_val_epoch(self, runner, metrics=None):
        self.ema.swap(unwrap(runner.model))

    before_test_epoch = before_val_epoch
    after_test_epoch = after_val_epoch

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['ema_state_dict'] = self.ema.state_dict()
        self._swap_state_dict(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint):
        if self.ema is None:   # minicls resumes before ``before_run``
            self._build(runner)
        if 'ema_state_dict' not in checkpoint:
            runner.logger.info('EMAHook: the checkpoint has no ema_state_dict; the average '
                               'starts from the loaded weights')
            self.ema.steps = 0
            return
        self._swap_state_dict(checkpoint)   # back to: state_dict = training weights
        unwrap(runner.model).load_state_dict(checkpoint['state_dict'])
        self.ema.load_state_dict(checkpoint['ema_state_dict'])

    def _swap_state_dict(self, checkpoint):
        """Exchange ``state_dict[k]`` and ``ema_state_dict['module.' + k]`` for what the
        average holds: the parameters, and the buffers only with ``update_buffers=True``.
        Otherwise ``state_dict`` keeps the model's buffers, which are the ones validation used
        (e.g. the BN statistics that PreciseBNHook recomputed for the averaged weights after
        the last step; the average's copies of the buffers are from before it)."""
        model_state, ema_state = checkpoint['state_dict'], checkpoint['ema_state_dict']
        names = list(self.ema.params)
        if self.ema.update_buffers:
            names += list(self.ema.buffers)
        for name in names:
            key = 'module.' + name
            if key in ema_state and name in model_state:
                model_state[name], ema_state[key] = ema_state[key], model_state[name]
