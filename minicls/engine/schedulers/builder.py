"""``build_param_schedulers``: the ``param_scheduler`` config -> schedulers, as mmengine's runner.

Explained in tutorials/07_optimizers_and_schedules.md.
"""
import inspect
import logging

from minicls.config.errors import ConfigError, ConfigTypeError, check_keys
from minicls.registry import PARAM_SCHEDULERS

from .param_scheduler import INF, ParamScheduler

__all__ = ['build_param_schedulers']


def _arguments(cls):
    """The config keys a scheduler class takes: its own arguments and ParamScheduler's."""
    names = set()
    for klass in (cls, ParamScheduler):
        names |= {p.name for p in inspect.signature(klass).parameters.values()
                  if p.kind is not p.VAR_KEYWORD}
    return names - {'self', 'optimizer'}


def build_param_schedulers(cfgs, optimizer, epoch_length=None, max_epochs=None, max_iters=None):
    """Build the ``param_scheduler`` config (a dict or a list of dicts), as mmengine's runner.

    ``convert_to_iter_based=True`` converts an epoch-based config with ``epoch_length`` (the
    number of iterations per epoch). A missing ``end`` defaults to the end of training
    (``max_epochs``, or ``max_iters`` with ``by_epoch=False``); a scheduler with no ``end``
    that would begin after training ends (``max_epochs`` shortened to try a config quickly)
    is skipped, with a log line. ``begin``/``end`` mistakes are reported in the unit they
    were written in.
    """
    if cfgs is None:
        return []
    if isinstance(cfgs, dict):
        cfgs = [cfgs]
    schedulers = []
    for cfg in cfgs:
        cfg = dict(cfg)
        kind = cfg.pop('type')
        cls = PARAM_SCHEDULERS.get(kind) if isinstance(kind, str) else kind
        if cls is None:
            PARAM_SCHEDULERS.build(dict(type=kind))  # raises the registry's helpful KeyError
        convert = cfg.pop('convert_to_iter_based', False)
        check_keys(cfg, _arguments(cls), f'param_scheduler {kind}', error=ConfigTypeError,
                   what='argument')
        by_epoch = cfg.get('by_epoch', True)
        unit, total = ('epochs', max_epochs) if by_epoch else ('iterations', max_iters)
        begin = cfg.get('begin', 0)
        if 'end' not in cfg and total is not None:
            if begin >= total:
                logging.getLogger('minicls').warning(
                    f'param_scheduler {kind} begins at {unit[:-1]} {begin}, but training ends '
                    f'after {unit[:-1]} {total} (train_cfg.max_epochs={max_epochs}): it is '
                    'skipped')
                continue
            cfg['end'] = total
        if cfg.get('total_steps') is not None and total is not None \
                and cfg['total_steps'] < total:  # OneCycleLR would fail when it runs out
            raise ConfigError(f'param_scheduler {kind}: total_steps={cfg["total_steps"]} '
                              f'{unit}, but training lasts {total} {unit} '
                              f'(train_cfg.max_epochs): set total_steps={total} or more')
        if cfg.get('end', INF) <= begin:
            raise ConfigError(f'param_scheduler {kind}: end must be larger than begin, got '
                              f'begin={begin}, end={cfg["end"]} ({unit})')
        if convert:
            if not by_epoch:
                raise ConfigError(f'{kind}: convert_to_iter_based needs by_epoch=True')
            schedulers.append(cls.build_iter_from_epoch(optimizer=optimizer,
                                                        epoch_length=epoch_length, **cfg))
        else:
            schedulers.append(cls(optimizer=optimizer, **cfg))
    return schedulers
