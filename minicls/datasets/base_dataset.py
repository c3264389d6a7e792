"""The base of every dataset: a list of samples, class names, and a pipeline.

A dataset answers two questions: how many samples (``len(ds)``) and what is sample ``i``
(``ds[i]``). Sample ``i`` starts as a small dict from :meth:`BaseDataset.get_data_info`, e.g.
``{'img': HWC uint8 array, 'gt_label': 3}`` for CIFAR or ``{'img_path': 'a/b.jpg', 'gt_label': 3}``
for image folders, gets ``sample_idx = i``, and is passed through the pipeline (a list of
transform configs such as ``[dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]``).

Subclasses implement :meth:`load_data_list`, which returns the list of those dicts; everything
else (class names, label checks, subsets, indexing) is here.

Explained in tutorials/08_data_pipeline.md.
"""
import os.path as osp

import numpy as np

from .transforms import Compose

__all__ = ['BaseDataset']


class BaseDataset:
    """A dataset of ``dict(img=..., gt_label=...)`` samples passed through ``pipeline``.

    Args:
        ann_file (str): an annotation file, relative to ``data_root`` (used by subclasses).
        metainfo (dict | None): ``{'classes': (...)}``; overrides the class's ``METAINFO``.
        data_root (str): the folder everything else is relative to.
        data_prefix (str | dict): sub-folder of ``data_root`` holding the images
            (mmpretrain also accepts ``dict(img_path='...')`` or ``dict(root='...')``).
        pipeline (Sequence): transform configs or callables, see :class:`Compose`.
        test_mode (bool): accepted for mmpretrain configs.
        indices (int | Sequence[int] | None): keep only the first ``n`` samples, or these ones.
        classes (Sequence[str] | str | None): class names, or a text file with one per line.
    """

    METAINFO = {}

    def __init__(self, ann_file='', metainfo=None, data_root='', data_prefix='', pipeline=(),
                 test_mode=False, indices=None, classes=None, lazy_init=False):
        self.ann_file = ann_file
        self.data_root = osp.expanduser(data_root or '')
        self.data_prefix = self._prefix_path(data_prefix)
        self.test_mode = test_mode
        self.pipeline = Compose(pipeline)
        self._metainfo = self._load_metainfo(metainfo, classes)
        data_list = self.load_data_list()
        if indices is not None:
            data_list = self._subset(data_list, indices)
        self.data_list = data_list
        self._check_labels()

    # -- paths and metainfo ------------------------------------------------------------------
    def _join(self, path):
        """``path`` relative to ``data_root`` (absolute paths are kept)."""
        return path if not path or osp.isabs(path) else osp.join(self.data_root, path)

    def _prefix_path(self, data_prefix):
        if isinstance(data_prefix, dict):
            data_prefix = data_prefix.get('img_path', data_prefix.get('root', ''))
        data_prefix = osp.expanduser(data_prefix or '')
        return self._join(data_prefix) if data_prefix else self.data_root

    def _load_metainfo(self, metainfo, classes):
        meta = dict(self.METAINFO)
        if metainfo is not None:
            if not isinstance(metainfo, dict):
                raise TypeError(f'metainfo must be a dict, but got {type(metainfo).__name__}')
            meta.update(metainfo)
        if classes is not None:
            meta['classes'] = classes
        if isinstance(meta.get('classes'), str):  # a text file of class names
            path = self._join(osp.expanduser(meta['classes']))
            with open(path) as f:
                meta['classes'] = [line.strip() for line in f if line.strip()]
        if meta.get('classes') is not None:
            meta['classes'] = tuple(meta['classes'])
        return meta

    @property
    def metainfo(self):
        """A copy of ``{'classes': (...), ...}``."""
        return dict(self._metainfo)

    @property
    def CLASSES(self):
        """The class names, a tuple (or None when unknown)."""
        return self._metainfo.get('classes')

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.CLASSES or ())}

    # -- the samples -------------------------------------------------------------------------
    def load_data_list(self):
        """Return the list of sample dicts. Subclasses must implement it."""
        raise NotImplementedError(f'{type(self).__name__} must implement load_data_list()')

    @staticmethod
    def _subset(data_list, indices):
        if isinstance(indices, (int, np.integer)):
            return data_list[:int(indices)]
        return [data_list[int(i)] for i in indices]

    def _check_labels(self):
        classes = self.CLASSES
        if classes is None:
            return
        labels = self.get_gt_labels()
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            bad = int(np.flatnonzero((labels < 0) | (labels >= len(classes)))[0])
            where = self.data_list[bad].get('img_path', f'sample {bad}')
            raise ValueError(f'{type(self).__name__}: label {labels[bad]} of {where} is out of '
                             f'range for {len(classes)} classes (valid labels: 0..'
                             f'{len(classes) - 1})')

    def get_data_info(self, idx):
        """Sample ``idx`` before the pipeline: a fresh shallow copy, with ``sample_idx``."""
        info = dict(self.data_list[idx])
        info['sample_idx'] = idx
        return info

    def get_gt_labels(self):
        """All labels as an int64 array (-1 where a sample has none)."""
        return np.array([d.get('gt_label', -1) for d in self.data_list], dtype=np.int64)

    def get_cat_ids(self, idx):
        return [int(self.data_list[idx]['gt_label'])]

    def __len__(self):
        return len(self.data_list)

    def __getitem__(self, idx):
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f'index {idx} is out of range for {type(self).__name__} of '
                             f'{n} samples')
        return self.pipeline(self.get_data_info(int(idx) % n))

    def __repr__(self):
        classes = self.CLASSES
        lines = [f'Dataset {type(self).__name__}',
                 f'    Number of samples: \t{len(self)}',
                 f'    Number of categories: \t{len(classes) if classes else "unknown"}',
                 f'    Root of dataset: \t{self.data_root!r}',
                 f'    Pipeline: {self.pipeline!r}'.replace('\n', '\n    ')]
        return '\n'.join(lines)
