"""Registries: name -> class tables that turn config dicts into objects."""
from .registry import Registry, RegistryKeyError, build_from_cfg, build_model_from_cfg
from .root import (BATCH_AUGMENTS, DATASETS, HOOKS, METRICS, MODELS, OPTIMIZERS,
                   PARAM_SCHEDULERS, TRANSFORMS)

__all__ = ['Registry', 'RegistryKeyError', 'build_from_cfg', 'build_model_from_cfg', 'MODELS',
           'DATASETS', 'TRANSFORMS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'HOOKS', 'METRICS',
           'BATCH_AUGMENTS']
