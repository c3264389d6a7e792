"""CIFAR-10 and CIFAR-100 in the official "python version" format.

The archive ``cifar-10-python.tar.gz`` unpacks to ``cifar-10-batches-py/`` with five training
batches ``data_batch_1..5``, one ``test_batch`` and ``batches.meta``. Each batch is a pickle of
a dict: ``data`` is a (10000, 3072) uint8 array, each row a 32x32 image stored as 1024 red, then
1024 green, then 1024 blue values; ``labels`` is a list of ints. CIFAR-100 has ``train``,
``test`` and ``meta`` with ``fine_labels`` / ``fine_label_names``. Keys are ``bytes`` or ``str``
depending on the Python that wrote the file; both are accepted.

The pickles are read with :func:`~minicls.datasets.utils.safe_pickle_load`, which refuses any
file that names a function, so a crafted batch file cannot run code.
"""
import os.path as osp

import numpy as np

from minicls.registry import DATASETS

from .base_dataset import BaseDataset
from .utils import download_and_extract_archive, safe_pickle_load

__all__ = ['CIFAR10', 'CIFAR100']


def _str_keys(d, path):
    if not isinstance(d, dict):
        raise ValueError(f'{path} is not a CIFAR batch: expected a dict, got {type(d).__name__}')
    return {(k.decode('latin1') if isinstance(k, bytes) else k): v for k, v in d.items()}


@DATASETS.register_module()
class CIFAR10(BaseDataset):
    """CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train, 10,000 test).

    Args:
        data_root (str): folder holding ``cifar-10-batches-py/`` (downloaded there if missing).
        split (str): ``'train'`` or ``'test'``.
        download (bool): fetch and extract the official archive (MD5-checked) when missing.
        pipeline, metainfo, indices, ...: see :class:`BaseDataset`.

    Items before the pipeline: ``{'img': (32, 32, 3) uint8 RGB, 'gt_label': int}``.
    """

    base_folder = 'cifar-10-batches-py'
    url = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
    filename = 'cifar-10-python.tar.gz'
    tgz_md5 = 'c58f30108f718f92721af3b95e74349a'
    train_list = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5']
    test_list = ['test_batch']
    meta_file, meta_key, label_key = 'batches.meta', 'label_names', 'labels'
    METAINFO = {'classes': ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
                            'horse', 'ship', 'truck')}

    def __init__(self, data_root='', split='train', download=True, **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"{type(self).__name__}: split must be 'train' or 'test', "
                             f'but got {split!r}')
        self.split = split
        self.download = download
        super().__init__(data_root=data_root, **kwargs)

    @property
    def folder(self):
        return osp.join(self.data_prefix, self.base_folder)

    def _files(self):
        return self.train_list if self.split == 'train' else self.test_list

    def _missing(self):
        return [f for f in self._files() if not osp.isfile(osp.join(self.folder, f))]

    def load_data_list(self):
        if self._missing() and self.download:
            download_and_extract_archive(self.url, self.data_prefix, filename=self.filename,
                                         md5=self.tgz_md5)
        missing = self._missing()
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: split {self.split!r} not found: missing '
                f'{", ".join(missing)} in {self.folder}. Pass download=True, or download '
                f'{self.url} and extract it into {self.data_prefix or "."}.')
        imgs, labels = [], []
        for name in self._files():
            path = osp.join(self.folder, name)
            batch = _str_keys(safe_pickle_load(path), path)
            if 'data' not in batch or self.label_key not in batch:
                raise KeyError(f'{path}: expected the keys "data" and "{self.label_key}", got '
                               f'{sorted(batch)}')
            data = np.asarray(batch['data'], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3072:
                raise ValueError(f'{path}: "data" must have shape (N, 3072), got {data.shape}')
            imgs.append(data.reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[self.label_key], dtype=np.int64))
            if len(labels[-1]) != len(data):
                raise ValueError(f'{path}: {len(data)} images but {len(labels[-1])} labels')
        self._load_meta()
        # One contiguous HWC block; each sample's "img" is a view into it.
        self.imgs = np.ascontiguousarray(np.concatenate(imgs).transpose(0, 2, 3, 1))
        self.gt_labels = np.concatenate(labels)
        return [{'img': img, 'gt_label': int(label)}
                for img, label in zip(self.imgs, self.gt_labels.tolist())]

    def _load_meta(self):
        """Take class names from the meta file, unless metainfo/classes were given."""
        path = osp.join(self.folder, self.meta_file)
        if not osp.isfile(path) or self._metainfo.get('classes') != self.METAINFO['classes']:
            return
        meta = _str_keys(safe_pickle_load(path), path)
        names = meta.get(self.meta_key)
        if names:
            self._metainfo['classes'] = tuple(
                n.decode() if isinstance(n, bytes) else str(n) for n in names)

    def get_gt_labels(self):
        return np.array([d['gt_label'] for d in self.data_list], dtype=np.int64)


@DATASETS.register_module()
class CIFAR100(CIFAR10):
    """CIFAR-100: like :class:`CIFAR10` but 100 classes (the ``fine`` labels).

    Args: as :class:`CIFAR10`'s (``data_root`` holds ``cifar-100-python/``)."""

    base_folder = 'cifar-100-python'
    url = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
    filename = 'cifar-100-python.tar.gz'
    tgz_md5 = 'eb9058c3a382ffc7106e4002c42a8d85'
    train_list = ['train']
    test_list = ['test']
    meta_file, meta_key, label_key = 'meta', 'fine_label_names', 'fine_labels'
    METAINFO = {'classes': (
        'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle',
        'bottle', 'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle',
        'caterpillar', 'cattle', 'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch',
        'crab', 'crocodile', 'cup', 'dinosaur', 'dolphin', 'elephant', 'flatfish', 'forest',
        'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard', 'lamp', 'lawn_mower',
        'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
        'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear',
        'pickup_truck', 'pine_tree', 'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit',
        'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk',
        'skyscraper', 'snail', 'snake', 'spider', 'squirrel', 'streetcar', 'sunflower',
        'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor', 'train',
        'trout',
        'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm')}
