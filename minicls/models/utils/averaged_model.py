"""``ExponentialMovingAverage``: a running average of a model's weights (mmengine's).

Late in training the weights jitter around a minimum from one SGD step to the next; their
average over the last few hundred steps usually sits closer to it, and tests a little better.
After every ``interval`` steps::

    averaged = (1 - momentum) * averaged + momentum * param

(mmengine's convention: ``momentum`` is the weight of the *new* value, so 0.0002 averages over
about 5000 steps). The first update copies the weights. Buffers (BN running statistics) are
copied from the model unless ``update_buffers=True``, which averages them too.
:class:`~minicls.engine.hooks.EMAHook` keeps one and swaps it in for validation and checkpoints.

Explained in tutorials/13_training_fast.md.
"""
import numpy as np

from minicls.backend import get_array_module
from minicls.config.errors import check_number
from minicls.registry import MODELS

__all__ = ['ExponentialMovingAverage']


@MODELS.register_module()
class ExponentialMovingAverage:
    """Averaged copies of ``model``'s parameters (and buffers), as plain arrays by name.

    Args:
        model (Module): the model whose weights are averaged.
        momentum (float): the weight of the new value, in (0, 1). Defaults to 0.0002.
        interval (int): update every ``interval`` calls of :meth:`update_parameters`.
            Defaults to 1.
        update_buffers (bool): average the buffers too instead of copying them.
            Defaults to False.
    """

    def __init__(self, model, momentum=0.0002, interval=1, update_buffers=False):
        # momentum: mmengine's convention, the weight of the new value (0.0002, not 0.9998)
        self.momentum = check_number(momentum, 'ExponentialMovingAverage: momentum', float,
                                     low=0, high=1, open_bounds=True)
        self.interval = check_number(interval, 'ExponentialMovingAverage: interval', low=1)
        self.update_buffers = update_buffers
        self.steps = 0
        self.params = {k: p.data.copy() for k, p in model.named_parameters()}
        self.buffers = {k: b.data.copy() for k, b in model.named_buffers()}

    def avg_func(self, averaged, source, steps):
        """``averaged <- (1 - momentum) * averaged + momentum * source``, in place."""
        averaged += (source - averaged) * averaged.dtype.type(self.momentum)

    def update_parameters(self, model):
        """One step: copy on the first call, then average every ``interval`` calls."""
        averaged = dict(self.params)
        if self.update_buffers:
            averaged.update(self.buffers)
        source = dict(model.named_parameters())
        if self.update_buffers:
            source.update(model.named_buffers())
        for name, avg in averaged.items():
            src = source[name].data
            if self.steps == 0:
                avg[...] = src
            elif self.steps % self.interval == 0 and avg.dtype.kind == 'f':
                self.avg_func(avg, src, self.steps)
            elif avg.dtype.kind != 'f':
                avg[...] = src     # counters such as num_batches_tracked
        if not self.update_buffers:
            for name, buf in model.named_buffers():
                self.buffers[name][...] = buf.data
        self.steps += 1

    def swap(self, model):
        """Exchange the model's parameter arrays with the averaged ones (call twice to undo)."""
        for name, p in model.named_parameters():
            p.data, self.params[name] = self.params[name], p.data

    def state_dict(self):
        """``{'module.<name>': array, ..., 'steps': int}`` (mmengine's keys)."""
        state = {f'module.{k}': v for k, v in {**self.params, **self.buffers}.items()}
        state['steps'] = self.steps
        return state

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned. Missing or unexpected ``module.*`` keys
        raise KeyError, an array of another shape ValueError (saved from another model)."""
        own = {f'module.{name}': array for store in (self.params, self.buffers)
               for name, array in store.items()}
        saved = {k for k in state if k.startswith('module.')}
        missing, unexpected = sorted(set(own) - saved), sorted(saved - set(own))
        if missing or unexpected:
            found = [f'{what} key(s) {_listed(keys)}' for what, keys in
                     (('missing', missing), ('unexpected', unexpected)) if keys]
            raise KeyError('ExponentialMovingAverage.load_state_dict: the state is of another '
                           f'model: {"; ".join(found)}')
        for key, array in own.items():
            if np.shape(state[key]) != array.shape:
                raise ValueError(f'ExponentialMovingAverage.load_state_dict: {key} has shape '
                                 f'{np.shape(state[key])} in the state, {array.shape} here')
        xp = get_array_module(next(iter(self.params.values())))
        for store in (self.params, self.buffers):
            for name in store:
                store[name] = xp.asarray(state[f'module.{name}']).astype(store[name].dtype)
        self.steps = int(state.get('steps', 0))


def _listed(keys, most=4):
    """``a, b, c, d and 2 more``."""
    more = f' and {len(keys) - most} more' if len(keys) > most else ''
    return ', '.join(keys[:most]) + more
