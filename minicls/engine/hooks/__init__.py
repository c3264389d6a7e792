"""Hooks: logging, timing, checkpoints, LR schedules, progress bars, the end-of-run summary
(``HOOKS``)."""
from .checkloss_hook import CheckInvalidLossHook
from .checkpoint_hook import CheckpointHook
from .ema_hook import EMAHook
from .freeze_hook import FreezeParamsHook
from .hook import Hook
from .lookahead_hook import LookaheadHook
from .logger_hook import LoggerHook, ProgressBarHook
from .precise_bn_hook import PreciseBNHook
from .simple_hooks import (DistSamplerSeedHook, IterTimerHook, ParamSchedulerHook,
                           RuntimeInfoHook, VisualizationHook)
from .summary_hook import RunSummaryHook
from .whitening_hook import WhiteningInitHook

__all__ = ['Hook', 'CheckpointHook', 'LoggerHook', 'ProgressBarHook', 'IterTimerHook',
           'ParamSchedulerHook', 'DistSamplerSeedHook', 'RuntimeInfoHook', 'VisualizationHook',
           'RunSummaryHook', 'CheckInvalidLossHook', 'EMAHook', 'WhiteningInitHook',
           'PreciseBNHook', 'FreezeParamsHook',
           'LookaheadHook']
