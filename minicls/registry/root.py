"""The registries of minicls, one per kind of object a config can name.

Each lists the modules that hold its built-ins; they are imported on the first lookup, so
``MODELS.build(dict(type='ResNet', ...))`` works without importing ``minicls.models`` first.
"""
from .registry import Registry

MODELS = Registry('model', locations=['minicls.nn', 'minicls.models'])
DATASETS = Registry('dataset', locations=['minicls.datasets'])
TRANSFORMS = Registry('transform', locations=['minicls.datasets'])
OPTIMIZERS = Registry('optimizer', locations=['minicls.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', locations=['minicls.engine'])
HOOKS = Registry('hook', locations=['minicls.engine'])
METRICS = Registry('metric', locations=['minicls.evaluation'])
