"""Data: datasets, transforms, and the loader that batches them.

Importing this package registers every dataset in ``DATASETS`` and every transform in
``TRANSFORMS``, so configs can name them (``dict(type='CIFAR10', data_root=...)``).
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .base_dataset import BaseDataset
from .cifar import CIFAR10, CIFAR100
from .custom import IMG_EXTENSIONS, CustomDataset
from .dataloader import DataLoader, build_dataloader, default_collate
from .mnist import MNIST, EmbeddedMNIST, FashionMNIST, embedded_mnist_root, read_idx
from .transforms import (CenterCrop, ColorJitter, Compose, LoadImageFromFile, PackInputs,
                         RandomCrop, RandomFlip, RandomResizedCrop, Resize, ResizeEdge,
                         seed_transforms)
from .utils import download_and_extract_archive, download_url, extract_archive, safe_pickle_load

__all__ = ['BaseDataset', 'CIFAR10', 'CIFAR100', 'CustomDataset', 'IMG_EXTENSIONS', 'MNIST',
           'FashionMNIST', 'EmbeddedMNIST', 'embedded_mnist_root', 'read_idx', 'DataLoader',
           'build_dataloader', 'default_collate', 'Compose', 'LoadImageFromFile', 'RandomCrop',
           'RandomFlip', 'RandomResizedCrop', 'Resize', 'ResizeEdge', 'CenterCrop',
           'ColorJitter', 'PackInputs', 'seed_transforms', 'download_url',
           'download_and_extract_archive', 'extract_archive', 'safe_pickle_load']
