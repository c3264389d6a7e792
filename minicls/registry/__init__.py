"""Registries: name -> class tables that turn config dicts into objects."""
from .registry import Registry
from .root import (DATASETS, HOOKS, METRICS, MODELS, OPTIMIZERS, PARAM_SCHEDULERS,
                   TRANSFORMS)

__all__ = ['Registry', 'MODELS', 'DATASETS', 'TRANSFORMS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
           'HOOKS', 'METRICS']
