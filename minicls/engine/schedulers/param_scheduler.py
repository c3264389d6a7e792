"""The schedulers (see the package docstring for how they chain).

Explained in tutorials/07_optimizers_and_schedules.md.
"""
import math
from collections import Counter

from minicls.config.errors import ConfigError
from minicls.registry import PARAM_SCHEDULERS

INF = int(1e9)

__all__ = ['ParamScheduler', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR',
           'LinearLR', 'ConstantLR', 'PolyLR', 'OneCycleLR']


class ParamScheduler:
    """Base class. Subclasses write ``_get_value()``: the new value of every group.

    Args:
        optimizer: an Optimizer or OptimWrapper (anything with ``param_groups``).
        param_name (str): the group key to schedule (``'lr'``).
        begin, end (int): active for steps ``begin <= step < end``.
        last_step (int): -1 for a fresh scheduler.
        by_epoch (bool): stepped once per epoch (True) or once per iteration (False).

    The first ``step()`` runs in ``__init__`` (step 0), as PyTorch and mmengine do. Each group
    remembers its starting value as ``group['initial_lr']`` (``base_values``).
    """

    scales_with_epoch_length = ()  # the arguments that count steps (converted to iterations)

    def __init__(self, optimizer, param_name='lr', begin=0, end=INF, last_step=-1,
                 by_epoch=True, verbose=False):
        if not hasattr(optimizer, 'param_groups'):
            raise TypeError(f'a scheduler needs an optimizer, got {type(optimizer).__name__}')
        if end <= begin:
            raise ConfigError(f'{type(self).__name__}: end must be larger than begin, got '
                              f'begin={begin}, end={end}')
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin, self.end, self.by_epoch = begin, end, by_epoch
        for group in optimizer.param_groups:
            group.setdefault(f'initial_{param_name}', group[param_name])
        self.base_values = [g[f'initial_{param_name}'] for g in optimizer.param_groups]
        self.last_step = last_step
        self.verbose = verbose
        self._global_step = -1
        self.step()

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=INF, by_epoch=True, epoch_length=None,
                              **kwargs):
        """The per-iteration twin of an epoch-based config (``convert_to_iter_based``)."""
        if not by_epoch:
            raise ConfigError('convert_to_iter_based needs by_epoch=True')
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'epoch_length must be a positive integer, got {epoch_length}')
        for key in cls.scales_with_epoch_length:
            if kwargs.get(key) is not None:
                value = kwargs[key]
                kwargs[key] = ([v * epoch_length for v in value] if isinstance(value, (list, tuple))
                               else value * epoch_length)
        begin = begin * epoch_length
        end = end * epoch_length if end != INF else end
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def step(self):
        """Advance one step; inside ``[begin, end)`` set each group's value."""
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            for i, (group, value) in enumerate(zip(self.optimizer.param_groups,
                                                   self._get_value())):
                group[self.param_name] = value
                if self.verbose:
                    print(f'Adjusting parameter value of group {i} to {value:.4e}.')
        self._last_value = [g[self.param_name] for g in self.optimizer.param_groups]

    def get_last_value(self):
        return self._last_value

    def _current(self):
        return [g[self.param_name] for g in self.optimizer.param_groups]

    def _get_value(self):
        raise NotImplementedError

    def state_dict(self):
        """Every attribute but the optimizer (numbers, lists and dicts: no pickle needed)."""
        return {k: v for k, v in self.__dict__.items() if k not in ('optimizer', 'anneal_func')}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned. A state with other keys, saved by another
        kind of scheduler, raises ValueError (it would silently mix two schedules)."""
        own, saved, name = set(self.state_dict()), set(state_dict), type(self).__name__
        if saved != own:
            extra = f'it has {", ".join(sorted(saved - own))}, which {name} does not' \
                if saved - own else ''
            lacks = f'it lacks {", ".join(sorted(own - saved))}' if own - saved else ''
            raise ValueError(f'{name}.load_state_dict: the state was saved by another kind of '
                             f'scheduler: {"; ".join(filter(None, (extra, lacks)))}')
        self.__dict__.update(state_dict)

    def __repr__(self):
        return (f'{type(self).__name__}(begin={self.begin}, end={self.end}, '
                f'by_epoch={self.by_epoch})')


@PARAM_SCHEDULERS.register_module()
class StepLR(ParamScheduler):
    r"""Multiply by ``gamma`` every ``step_size`` steps: :math:`\eta_t = \eta_0\gamma^{\lfloor t/s\rfloor}`."""

    scales_with_epoch_length = ('step_size',)

    def __init__(self, optimizer, step_size, gamma=0.1, **kwargs):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, **kwargs)

    def _get_value(self):
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._current()
        return [v * self.gamma for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(ParamScheduler):
    r"""Multiply by ``gamma`` at each milestone: :math:`\eta_t = \eta_0\gamma^{\#\{m \le t\}}`."""

    scales_with_epoch_length = ('milestones',)

    def __init__(self, optimizer, milestones, gamma=0.1, **kwargs):
        self.milestones = dict(Counter(int(m) for m in milestones))
        self.gamma = gamma
        super().__init__(optimizer, **kwargs)

    def _get_value(self):
        if self.last_step not in self.milestones:
            return self._current()
        return [v * self.gamma ** self.milestones[self.last_step] for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(ParamScheduler):
    r"""Multiply by ``gamma`` every step: :math:`\eta_t = \eta_0\gamma^t`."""

    def __init__(self, optimizer, gamma, **kwargs):
        self.gamma = gamma
        super().__init__(optimizer, **kwargs)

    def _get_value(self):
        if self.last_step == 0:
            return self._current()
        return [v * self.gamma for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(ParamScheduler):
    r"""Cosine from the initial value down to ``eta_min`` over ``T_max`` steps:
    :math:`\eta_t = \eta_{min} + \frac12(\eta_0 - \eta_{min})(1 + \cos(\pi t / T_{max}))`.

    Written recursively (chainable), as PyTorch.

    Args:
        T_max (int, optional): Steps of the half cosine. Default: None, ``end - begin``.
        eta_min (float, optional): The final value. Default: None, 0.
        eta_min_ratio (float, optional): The final value as a fraction of the initial one
            (instead of ``eta_min``). Default: None.
        begin, end (int), **kwargs: As in :class:`ParamScheduler` (``by_epoch``...).
    """

    scales_with_epoch_length = ('T_max',)

    def __init__(self, optimizer, T_max=None, eta_min=None, eta_min_ratio=None, begin=0,  # noqa: N803
                 end=INF, **kwargs):
        if eta_min is not None and eta_min_ratio is not None:
            raise ConfigError('CosineAnnealingLR: set eta_min or eta_min_ratio, not both')
        if T_max is None:
            if end == INF:
                raise ConfigError('CosineAnnealingLR needs T_max or a finite end')
            T_max = end - begin
        self.T_max = T_max
        self.eta_min = 0.0 if eta_min is None else eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(optimizer, begin=begin, end=end, **kwargs)

    def _eta_min(self, base):
        return base * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min

    def _get_value(self):
        t, T = self.last_step, self.T_max  # noqa: N806
        if t == 0:
            return self._current()
        values = []
        for base, v in zip(self.base_values, self._current()):
            eta_min = self._eta_min(base)
            if (t - 1 - T) % (2 * T) == 0:
                values.append(v + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2)
            else:
                values.append((1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                              * (v - eta_min) + eta_min)
        return values


@PARAM_SCHEDULERS.register_module()
class LinearLR(ParamScheduler):
    r"""Linear warm-up: the factor goes from ``start_factor`` to ``end_factor`` over the steps
    ``begin .. end-1``: :math:`\eta_t = \eta_0 (s + (e - s)\, t / (end - begin - 1))`.

    Args:
        start_factor (float): :math:`s`, in [0, 1]. Default: 1/3.
        end_factor (float): :math:`e`, in [0, 1]. Default: 1.
        begin, end (int), **kwargs: As in :class:`ParamScheduler` (``by_epoch``...).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, begin=0, end=INF,
                 **kwargs):
        if not (0 <= start_factor <= 1 and 0 <= end_factor <= 1):
            raise ConfigError('LinearLR: start_factor and end_factor must be in [0, 1]')
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, begin=begin, end=end, **kwargs)

    def _get_value(self):
        if self.last_step == 0:
            return [v * self.start_factor for v in self._current()]
        s, e = self.start_factor, self.end_factor
        factor = 1.0 + (e - s) / (self.total_iters * s + (self.last_step - 1) * (e - s))
        return [v * factor for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class ConstantLR(ParamScheduler):
    """Multiply by ``factor`` during ``[begin, end - 1)``, then back to the initial value.

    Args:
        factor (float): The multiplier. Default: 1/3.
        begin, end (int), **kwargs: As in :class:`ParamScheduler` (``by_epoch``...).
    """

    def __init__(self, optimizer, factor=1.0 / 3, begin=0, end=INF, **kwargs):
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, begin=begin, end=end, **kwargs)

    def _get_value(self):
        if self.last_step == 0:
            return [v * self.factor for v in self._current()]
        if self.last_step == self.total_iters:
            return [v / self.factor for v in self._current()]
        return self._current()


@PARAM_SCHEDULERS.register_module()
class PolyLR(ParamScheduler):
    r"""Polynomial decay to ``eta_min``: :math:`\eta_t = (\eta_0 - \eta_{min})(1 - t/T)^p + \eta_{min}`.

    Args:
        eta_min (float): The final value. Default: 0.
        power (float): :math:`p`. Default: 1 (linear).
        begin, end (int), **kwargs: As in :class:`ParamScheduler`; :math:`T` is
            ``end - begin - 1``.
    """

    def __init__(self, optimizer, eta_min=0.0, power=1.0, begin=0, end=INF, **kwargs):
        self.eta_min, self.power = eta_min, power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, begin=begin, end=end, **kwargs)

    def _get_value(self):
        if self.last_step == 0:
            return self._current()
        keep = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(v - self.eta_min) * keep + self.eta_min for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(ParamScheduler):
    r"""The 1cycle policy (Smith & Topin): warm up from ``eta_max / div_factor`` to ``eta_max``
    during the first ``pct_start`` of ``total_steps``, then anneal (cosine or linear) to
    ``eta_max / div_factor / final_div_factor``. Not chainable (it sets absolute values).

    Unlike ``torch.optim.lr_scheduler.OneCycleLR``, momentum is not cycled.

    Args:
        eta_max (float or list[float]): The peak value (one per param group). Default: 0.1.
        total_steps (int, optional): Length of the cycle, in the scheduler's own steps; with
            ``convert_to_iter_based=True`` an epoch count becomes iterations. Default: None.
        epochs, steps_per_epoch (int, optional): Their product, when ``total_steps`` is None.
        pct_start (float): The fraction of the cycle spent warming up. Default: 0.3.
        anneal_strategy (str): 'cos' or 'linear'. Default: 'cos'.
        div_factor (float): Start value = ``eta_max / div_factor``. Default: 25.
        final_div_factor (float): Final value = start value / this. Default: 1e4.
        three_phase (bool): Back down to the start value before the final anneal, as fast.ai.
            Default: False.
        param_name (str), **kwargs: As in :class:`ParamScheduler`. Default: 'lr'.
    """

    scales_with_epoch_length = ('total_steps',)

    def __init__(self, optimizer, eta_max=0.1, total_steps=None, epochs=None,
                 steps_per_epoch=None, pct_start=0.3, anneal_strategy='cos', div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, param_name='lr', **kwargs):
        if total_steps is None:
            if not (epochs and steps_per_epoch):
                raise ConfigError('OneCycleLR needs total_steps, or epochs and steps_per_epoch')
            total_steps = epochs * steps_per_epoch
        if int(total_steps) <= 0:
            raise ConfigError(f'OneCycleLR: total_steps must be positive, got {total_steps}')
        if not 0 <= pct_start <= 1:
            raise ConfigError(f'OneCycleLR: pct_start must be in [0, 1], got {pct_start}')
        if anneal_strategy not in ('cos', 'linear'):
            raise ConfigError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', "
                              f'got {anneal_strategy!r}')
        self.total_steps = int(total_steps)
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr='initial_lr', end_lr='max_lr'),
                dict(end_step=float(2 * pct_start * n) - 2, start_lr='max_lr',
                     end_lr='initial_lr'),
                dict(end_step=n - 1, start_lr='initial_lr', end_lr='min_lr')]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr='initial_lr', end_lr='max_lr'),
                dict(end_step=n - 1, start_lr='max_lr', end_lr='min_lr')]
        groups = optimizer.param_groups
        max_lrs = list(eta_max) if isinstance(eta_max, (list, tuple)) else [eta_max] * len(groups)
        if kwargs.get('last_step', -1) == -1:
            for group, max_lr in zip(groups, max_lrs):
                group['initial_lr'] = max_lr / div_factor
                group['max_lr'] = max_lr
                group['min_lr'] = group['initial_lr'] / final_div_factor
        super().__init__(optimizer, param_name=param_name, **kwargs)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == 'cos':
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _get_value(self):
        t = self.last_step
        if t > self.total_steps:
            raise ConfigError(f'OneCycleLR stepped {t + 1} times, but total_steps is '
                              f'{self.total_steps}: make it cover the whole training run')
        values = []
        for group in self.optimizer.param_groups:
            start = 0
            for i, phase in enumerate(self._schedule_phases):
                if t <= phase['end_step'] or i == len(self._schedule_phases) - 1:
                    pct = (t - start) / (phase['end_step'] - start)
                    values.append(self._anneal(group[phase['start_lr']],
                                               group[phase['end_lr']], pct))
                    break
                start = phase['end_step']
        return values

