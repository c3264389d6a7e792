"""Learning-rate schedulers, with mmengine's semantics (``PARAM_SCHEDULERS``).

A scheduler changes ``group['lr']`` of every param group of an optimizer each time its
``step()`` is called: once per epoch (``by_epoch=True``, the default) or once per iteration.
``begin``/``end`` restrict it to the steps ``begin <= step < end``, so a list of schedulers can
be chained, e.g. a linear warm-up for the first epoch, then cosine annealing::

    param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
             convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=20)]

Most schedulers are written in the *chainable* (recursive) form of PyTorch/mmengine: each step
multiplies the current lr by a factor, so two schedulers active at once compose. The closed
forms are given in each docstring. ``convert_to_iter_based=True`` turns an epoch-based
schedule into the equivalent per-iteration one (epochs x iterations per epoch), which gives
smooth warm-ups and cosines.

``param_scheduler.py`` holds the schedulers, ``builder.py`` turns the ``param_scheduler``
config into them (defaults in epochs, errors in the unit they were written in).

Explained in tutorials/07_optimizers_and_schedules.md.
"""
from .builder import build_param_schedulers
from .param_scheduler import (INF, ConstantLR, CosineAnnealingLR, ExponentialLR, LinearLR,
                              MultiStepLR, OneCycleLR, ParamScheduler, PolyLR, StepLR)

__all__ = ['ParamScheduler', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR',
           'LinearLR', 'ConstantLR', 'PolyLR', 'OneCycleLR', 'build_param_schedulers', 'INF']
