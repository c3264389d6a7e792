"""Transforms: small classes that take and return a results dict (see ``base.py``)."""
from .base import BaseTransform, get_epoch, get_rng, seed_transforms
from .color import ColorJitter
from .compose import Compose
from .formatting import PackInputs
from .loading import LoadImageFromFile, read_image
from .processing import AlternatingFlip, CenterCrop, RandomCrop, RandomFlip
from .resize import RandomResizedCrop, Resize, ResizeEdge, imresize

__all__ = ['BaseTransform', 'get_rng', 'seed_transforms', 'Compose', 'LoadImageFromFile',
           'read_image', 'RandomCrop', 'CenterCrop', 'RandomFlip',
           'AlternatingFlip', 'get_epoch', 'Resize', 'ResizeEdge',
           'RandomResizedCrop', 'imresize', 'ColorJitter', 'PackInputs']
