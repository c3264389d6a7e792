"""MNIST and Fashion-MNIST from IDX files, and the small MNIST subset shipped with minicls.

IDX is the format of the original MNIST files: a 4-byte magic number (two zero bytes, a type
code -- 0x08 for uint8 -- and the number of dimensions), then each dimension as a big-endian
int32, then the values. ``train-images-idx3-ubyte`` holds an (N, 28, 28) uint8 array,
``train-labels-idx1-ubyte`` an (N,) one; the test files start with ``t10k``. Files may be
gzipped (``.gz``), as they are distributed.
"""
import gzip
import os.path as osp

import numpy as np

from minicls.registry import DATASETS

from .base_dataset import BaseDataset
from .utils import download_url

__all__ = ['MNIST', 'FashionMNIST', 'EmbeddedMNIST', 'read_idx', 'embedded_mnist_root']

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
              0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


def read_idx(path):
    """Read an IDX file (gzipped or not) into a NumPy array, checking its header and size."""
    with open(path, 'rb') as f:
        gz = f.read(2) == b'\x1f\x8b'
    with (gzip.open(path, 'rb') if gz else open(path, 'rb')) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f'{path} is not an IDX file (bad magic number {data[:4].hex()})')
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, '>i4', count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f'{path}: the header says shape {shape} ({expected} bytes) but the file '
                         f'has {len(data)} bytes; it is truncated or corrupt')
    return np.frombuffer(data, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder('='))


def embedded_mnist_root():
    """The folder of the MNIST subset shipped inside the package (12,000 train / 2,000 test)."""
    return osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'mnist')


@DATASETS.register_module()
class MNIST(BaseDataset):
    """MNIST handwritten digits: 28x28 grayscale, 10 classes.

    Looks in ``data_root`` for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
    (``t10k-...`` for the test split), each with or without ``.gz``.

    Args:
        data_root (str): the folder with the IDX files (downloaded there if missing).
        split (str): ``'train'`` or ``'test'``.
        download (bool): fetch the official gzipped files (MD5-checked) when missing.

    Items before the pipeline: ``{'img': (28, 28, 1) uint8, 'gt_label': int}``.
    """

    url_prefix = 'https://ossci-datasets.s3.amazonaws.com/mnist/'
    resources = {
        'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
        'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
        't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
        't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    }
    METAINFO = {'classes': ('0 - zero', '1 - one', '2 - two', '3 - three', '4 - four',
                            '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine')}

    def __init__(self, data_root='', split='train', download=True, **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"{type(self).__name__}: split must be 'train' or 'test', "
                             f'but got {split!r}')
        self.split = split
        self.download = download
        super().__init__(data_root=data_root, **kwargs)

    def _names(self):
        prefix = 'train' if self.split == 'train' else 't10k'
        return f'{prefix}-images-idx3-ubyte', f'{prefix}-labels-idx1-ubyte'

    def _find(self, name):
        for candidate in (name, name + '.gz'):
            path = osp.join(self.data_prefix, candidate)
            if osp.isfile(path):
                return path
        return None

    def load_data_list(self):
        names = self._names()
        if self.download and any(self._find(n) is None for n in names):
            for name in names:
                if self._find(name) is None:
                    gz = name + '.gz'
                    download_url(self.url_prefix + gz, self.data_prefix, gz, self.resources[gz])
        paths = [self._find(n) for n in names]
        if None in paths:
            missing = [n for n, p in zip(names, paths) if p is None]
            raise FileNotFoundError(
                f'{type(self).__name__}: split {self.split!r} not found: no '
                f'{" or ".join(missing)} (.gz or not) in {self.data_prefix or "."}. '
                'Pass download=True or put the IDX files there.')
        imgs, labels = read_idx(paths[0]), read_idx(paths[1])
        if imgs.ndim != 3 or labels.ndim != 1 or len(imgs) != len(labels):
            raise ValueError(f'{paths[0]} / {paths[1]}: expected (N, H, W) images and (N,) '
                             f'labels, got {imgs.shape} and {labels.shape}')
        self.imgs = np.ascontiguousarray(imgs.astype(np.uint8)[:, :, :, None])
        self.gt_labels = labels.astype(np.int64)
        return [{'img': img, 'gt_label': label}
                for img, label in zip(self.imgs, self.gt_labels.tolist())]


@DATASETS.register_module()
class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28x28 grayscale clothing images, same file layout as MNIST.

    Args: as :class:`MNIST`'s."""

    url_prefix = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'
    resources = {
        'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
        'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
        't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
        't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    }
    METAINFO = {'classes': ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
                            'Shirt', 'Sneaker', 'Bag', 'Ankle boot')}


@DATASETS.register_module()
class EmbeddedMNIST(MNIST):
    """The MNIST subset shipped inside minicls: works offline, no ``data_root`` needed.

    12,000 training images (1,200 per digit) and 2,000 test images (200 per digit) taken from
    the real MNIST files; see ``minicls/datasets/data/README.md`` for where they come from.
    """

    def __init__(self, split='train', **kwargs):
        for key in ('data_root', 'download'):
            if key in kwargs:
                raise TypeError(f'EmbeddedMNIST takes no {key!r}: its files ship with minicls. '
                                "Use dict(type='MNIST', data_root=...) for other files.")
        super().__init__(data_root=embedded_mnist_root(), split=split, download=False, **kwargs)
