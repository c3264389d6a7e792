"""``CheckInvalidLossHook``: stop training at the first NaN or infinite loss.

Once a loss is NaN the weights are NaN too, and every later step, checkpoint and "best"
model would be garbage. The runner has this hook by default
(``default_hooks.check_invalid_loss``, interval 1);
``default_hooks = dict(check_invalid_loss=None)`` switches it off. It raises
``FloatingPointError``, which ``python -m minicls.train`` reports in one line (exit code 1).
The checkpoints already written are kept and ``last_checkpoint`` still points at the last
good one.

Explained in tutorials/09_reading_a_training_run.md.
"""
import math

import numpy as np

from minicls.config.errors import check_number
from minicls.registry import HOOKS

from .hook import Hook

LR_CAUSE = 'a learning rate too high (try 10x lower, or a warm-up); '
CAUSES = ('bad normalisation (a data_preprocessor std of 0 divides by zero); bad data (NaN or '
          'infinite pixels or labels); NaN weights loaded with load_from. Switch this check '
          'off with default_hooks=dict(check_invalid_loss=None).')


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Raise ``FloatingPointError`` when the training loss is NaN or infinite
    (mmdetection's ``CheckInvalidLossHook``, which asserts instead).

    It also refuses to save a checkpoint whose weights are not all finite (possible when
    ``interval`` > 1, or when the last step of an epoch overflows).

    Args:
        interval (int): check the loss every ``interval`` iterations (mmdetection's
            default is 50; minicls checks every iteration, a scalar test that costs nothing).
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval=1):
        self.interval = check_number(interval, 'CheckInvalidLossHook: interval', low=1)

    def before_train(self, runner):
        self._first_iter = runner.iter  # 0, or where a resumed run starts

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.iter + 1) % self.interval or not outputs or 'loss' not in outputs:
            return
        loss = float(outputs['loss'])
        if math.isfinite(loss):
            return
        if runner.iter == getattr(self, '_first_iter', -1):  # no update yet: not the lr
            causes = 'At the first iteration, before any update, so look for: ' + CAUSES
        else:
            causes = 'Usual causes: ' + LR_CAUSE + CAUSES
        raise FloatingPointError(
            f'the loss is {loss} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
            f'batch {batch_idx + 1}): training stopped, nothing more is saved. {causes}')

    def before_save_checkpoint(self, runner, checkpoint):
        for key, value in checkpoint.get('state_dict', {}).items():
            if not np.all(np.isfinite(value)):
                raise FloatingPointError(
                    f'weight {key!r} holds NaN or infinite values at iteration {runner.iter}: '
                    f'the checkpoint is not saved and training stopped. Usual causes: '
                    f'{LR_CAUSE}{CAUSES}')
