"""Training machinery: optimizers, LR schedulers, hooks, checkpoints and the ``Runner``.

Importing it registers every optimizer (``OPTIMIZERS``), scheduler (``PARAM_SCHEDULERS``) and
hook (``HOOKS``), so configs can name them.
"""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .hooks import (CheckpointHook, DistSamplerSeedHook, Hook, IterTimerHook, LoggerHook,
                    ParamSchedulerHook, ProgressBarHook, RuntimeInfoHook, VisualizationHook)
from .optim import SGD, Adam, AdamW, Optimizer, OptimWrapper, build_optim_wrapper
from .schedulers import (ConstantLR, CosineAnnealingLR, ExponentialLR, LinearLR, MultiStepLR,
                         OneCycleLR, ParamScheduler, PolyLR, StepLR, build_param_schedulers)

__all__ = ['Optimizer', 'SGD', 'Adam', 'AdamW', 'OptimWrapper', 'build_optim_wrapper',
           'ParamScheduler', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR',
           'LinearLR', 'ConstantLR', 'PolyLR', 'OneCycleLR', 'build_param_schedulers',
           'save_checkpoint', 'load_checkpoint', 'CheckpointError', 'Hook',
           'CheckpointHook', 'LoggerHook', 'ProgressBarHook', 'IterTimerHook',
           'ParamSchedulerHook', 'DistSamplerSeedHook', 'RuntimeInfoHook', 'VisualizationHook',
           'Runner']


def __getattr__(name):  # the Runner imports models/datasets lazily, on first use
    if name == 'Runner':
        from .runner import Runner
        return Runner
    raise AttributeError(name)
