"""Configs shipped with minicls, laid out as mmpretrain's ``configs/`` folder.

``_base_/`` holds the building blocks (models, datasets, schedules, runtime); each recipe
folder combines them. ``minicls.configs.find_config('resnet18_8xb16_cifar10')`` gives the path
of a shipped config by name (the CLIs accept names as well as paths).
"""
import glob
import os.path as osp

CONFIG_ROOT = osp.dirname(osp.abspath(__file__))
QUICKSTART = osp.join(CONFIG_ROOT, 'quickstart', 'mnist_quickstart.py')

__all__ = ['CONFIG_ROOT', 'QUICKSTART', 'find_config', 'list_configs']


def list_configs():
    """Names of the shipped recipes (without ``_base_`` files)."""
    paths = glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
    return sorted(osp.splitext(osp.basename(p))[0] for p in paths
                  if '_base_' not in p and not p.endswith('__init__.py'))


def find_config(name_or_path):
    """A config path: an existing file, or the name of a shipped config."""
    if osp.isfile(name_or_path):
        return name_or_path
    stem = osp.splitext(osp.basename(name_or_path))[0]
    matches = [p for p in glob.glob(osp.join(CONFIG_ROOT, '**', f'{stem}.py'), recursive=True)
               if '_base_' not in p]
    if len(matches) == 1:
        return matches[0]
    raise FileNotFoundError(f'no config file {name_or_path!r}, and no shipped config named '
                            f'{stem!r}. Shipped configs: {", ".join(list_configs())}')
