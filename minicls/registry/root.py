"""The registries of minicls, one per kind of object a config can name.

Each lists the modules that hold its built-ins; they are imported on the first lookup, so
``MODELS.build(dict(type='ResNet', ...))`` works without importing ``minicls.models`` first.
``MODELS`` also builds a list of configs into an ``nn.Sequential``.
"""
from .registry import Registry, build_model_from_cfg

MODELS = Registry('model', build_func=build_model_from_cfg,
                  locations=['minicls.cnn', 'minicls.models'])
DATASETS = Registry('dataset', locations=['minicls.datasets'])
TRANSFORMS = Registry('transform', locations=['minicls.datasets'])
OPTIMIZERS = Registry('optimizer', locations=['minicls.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', locations=['minicls.engine'])
HOOKS = Registry('hook', locations=['minicls.engine'])
METRICS = Registry('metric', locations=['minicls.evaluation'])
BATCH_AUGMENTS = Registry('batch augment', locations=['minicls.models.utils.batch_augments'])
