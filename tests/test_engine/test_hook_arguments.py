"""A hook argument that is not a number (or not in range) is a ConfigError naming the hook,
the argument, what was given and what is expected (``check_number``), not a ValueError or
TypeError from inside ``int()``."""
import types

import pytest

from minicls import nn
from minicls.config.errors import ConfigError
from minicls.registry import HOOKS


@pytest.mark.parametrize('cfg, says', [
    (dict(type='CheckInvalidLossHook', interval='x'),
     "CheckInvalidLossHook: interval must be an integer >= 1, got 'x' (a str)"),
    (dict(type='CheckpointHook', interval='2'),
     "CheckpointHook: interval must be an integer >= 1, got '2' (a str)"),
    (dict(type='CheckpointHook', interval=0), 'CheckpointHook: interval must be an integer >= 1, '
                                              'got 0'),
    (dict(type='CheckpointHook', max_keep_ckpts=None),
     'CheckpointHook: max_keep_ckpts must be an integer, got None (a NoneType)'),
    (dict(type='EMAHook', begin_iter='10'),
     "EMAHook: begin_iter must be an integer >= 0, got '10' (a str)"),
    (dict(type='EMAHook', begin_epoch=-1), 'EMAHook: begin_epoch must be an integer >= 0, got -1'),
    (dict(type='FreezeParamsHook', params='a', train_epochs='3'),
     "FreezeParamsHook: train_epochs must be an integer >= 0, got '3' (a str)"),
    (dict(type='LoggerHook', interval=[10]),
     'LoggerHook: interval must be an integer >= 1, got [10] (a list)'),
    (dict(type='LookaheadHook', interval='x'),
     "LookaheadHook: interval must be an integer >= 1, got 'x' (a str)"),
    (dict(type='LookaheadHook', decay='0.9'),
     "LookaheadHook: decay must be a number in [0, 1], got '0.9' (a str)"),
    (dict(type='PreciseBNHook', num_samples='all'),
     "PreciseBNHook: num_samples must be an integer >= 1, got 'all' (a str)"),
    (dict(type='PreciseBNHook', interval=1.5),
     'PreciseBNHook: interval must be an integer >= 1, got 1.5 (a float)'),
    (dict(type='ProgressBarHook', file_interval='often'),
     "ProgressBarHook: file_interval must be a number >= 0, got 'often' (a str)"),
    (dict(type='WhiteningInitHook', num_images='5k'),
     "WhiteningInitHook: num_images must be an integer >= 1, got '5k' (a str)"),
    (dict(type='WhiteningInitHook', eps=-1),
     'WhiteningInitHook: eps must be a number >= 0, got -1'),
])
def test_non_numeric_hook_arguments_are_config_errors(cfg, says):
    with pytest.raises(ConfigError) as info:
        HOOKS.build(cfg)
    assert str(info.value) == says


@pytest.mark.parametrize('kwargs, says', [
    (dict(momentum='fast'), "momentum must be a number in (0, 1), got 'fast' (a str)"),
    (dict(momentum=0.9998, interval='x'), "interval must be an integer >= 1, got 'x' (a str)"),
])
def test_ema_hook_names_itself_and_its_average_when_an_argument_is_wrong(kwargs, says):
    hook = HOOKS.build(dict(type='EMAHook', **kwargs))  # the average is built with the model
    with pytest.raises(ConfigError) as info:
        hook.before_run(types.SimpleNamespace(model=nn.Linear(2, 2)))
    assert str(info.value) == f'EMAHook: ExponentialMovingAverage: {says}'
