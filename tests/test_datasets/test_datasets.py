"""Datasets read files written here in the real formats: CIFAR pickles, IDX, image folders."""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from minicls.datasets import (CIFAR10, CIFAR100, MNIST, CustomDataset, EmbeddedMNIST,
                              FashionMNIST, embedded_mnist_root, read_idx, safe_pickle_load)
from minicls.registry import DATASETS


# -- CIFAR -----------------------------------------------------------------------------------
def write_cifar10(root, n_train=(3, 2), n_test=4, names=('data_batch_1', 'data_batch_2')):
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for name, n in list(zip(names, n_train)) + [('test_batch', n_test)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, n)]
        with open(folder / name, 'wb') as f:
            pickle.dump({b'batch_label': b'x', b'data': data, b'labels': labels,
                         b'filenames': [b'f.png'] * n}, f, protocol=2)
        written[name] = (data, labels)
    meta = [f'c{i}'.encode() for i in range(10)]
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({b'label_names': meta, b'num_cases_per_batch': 3, b'num_vis': 3072}, f)
    return written


def test_cifar10_reads_official_batches(tmp_path):
    written = write_cifar10(tmp_path, names=['data_batch_1', 'data_batch_2'])
    ds = CIFAR10(data_root=str(tmp_path), split='test', download=False)
    data, labels = written['test_batch']
    assert len(ds) == 4 and ds.CLASSES == tuple(f'c{i}' for i in range(10))
    assert ds.metainfo['classes'] == ds.CLASSES
    item = ds[1]  # no pipeline: the raw item
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    # row layout: 1024 red, 1024 green, 1024 blue values, row-major
    np.testing.assert_array_equal(item['img'][:, :, 0].ravel(), data[1, :1024])
    np.testing.assert_array_equal(item['img'][5, 7], data[1, [5 * 32 + 7, 1024 + 5 * 32 + 7,
                                                              2048 + 5 * 32 + 7]])
    assert item['gt_label'] == labels[1] and item['sample_idx'] == 1
    np.testing.assert_array_equal(ds.get_gt_labels(), labels)


def test_cifar10_train_split_missing_batch_and_bad_split(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match='data_batch_3'):
        CIFAR10(data_root=str(tmp_path), split='train', download=False)
    with pytest.raises(ValueError, match="'val'"):
        CIFAR10(data_root=str(tmp_path), split='val', download=False)


def test_cifar10_train_all_batches_via_registry_with_pipeline(tmp_path):
    names = [f'data_batch_{i}' for i in range(1, 6)]
    written = write_cifar10(tmp_path, n_train=(2, 1, 1, 1, 3), names=names)
    ds = DATASETS.build(dict(type='CIFAR10', data_root=str(tmp_path), split='train',
                             download=False, pipeline=[dict(type='PackInputs')]))
    assert len(ds) == 8
    out = ds[-1]
    np.testing.assert_array_equal(out['inputs'].reshape(-1), written['data_batch_5'][0][2])
    assert out['gt_label'] == written['data_batch_5'][1][2] and out['sample_idx'] == 7
    sub = CIFAR10(data_root=str(tmp_path), download=False, indices=3)
    assert len(sub) == 3


def test_cifar100_fine_labels_and_label_range(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with open(folder / 'test', 'wb') as f:
        pickle.dump({'data': data, 'fine_labels': [99, 5], 'coarse_labels': [1, 2]}, f)
    ds = CIFAR100(data_root=str(tmp_path), split='test', download=False)
    assert len(ds.CLASSES) == 100 and ds[0]['gt_label'] == 99 and ds.CLASSES[99] == 'worm'
    with open(folder / 'test', 'wb') as f:
        pickle.dump({'data': data, 'fine_labels': [100, 5]}, f)
    with pytest.raises(ValueError, match='label 100 .* out of range for 100 classes'):
        CIFAR100(data_root=str(tmp_path), split='test', download=False)


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > pwned.txt',))


def test_malicious_pickle_is_refused_and_does_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_cifar10(tmp_path)
    with open(tmp_path / 'cifar-10-batches-py' / 'test_batch', 'wb') as f:
        pickle.dump({b'data': _Evil(), b'labels': [0]}, f)
    with pytest.raises(pickle.UnpicklingError, match=r'os\.system|posix\.system'):
        CIFAR10(data_root=str(tmp_path), split='test', download=False)
    assert not (tmp_path / 'pwned.txt').exists()
    for payload in (pickle.dumps(eval), pickle.dumps(pickle.loads)):
        with pytest.raises(pickle.UnpicklingError, match='refusing'):
            safe_pickle_load(payload)
    assert safe_pickle_load(pickle.dumps({'a': [1, 2.5, b'x', np.eye(2)]}))['a'][2] == b'x'


# -- MNIST IDX -------------------------------------------------------------------------------
def write_idx(path, arr, gz):
    header = bytes([0, 0, 0x08, arr.ndim]) + b''.join(struct.pack('>i', d) for d in arr.shape)
    opener = gzip.open if gz else open
    with opener(path, 'wb') as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize('gz', [True, False])
def test_mnist_reads_idx_files(tmp_path, gz):
    imgs = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    ext = '.gz' if gz else ''
    write_idx(tmp_path / f't10k-images-idx3-ubyte{ext}', imgs, gz)
    write_idx(tmp_path / f't10k-labels-idx1-ubyte{ext}', labels, gz)
    ds = MNIST(data_root=str(tmp_path), split='test', download=False)
    assert len(ds) == 5 and ds.CLASSES[3] == '3 - three'
    np.testing.assert_array_equal(ds[2]['img'][:, :, 0], imgs[2])
    assert ds[2]['img'].shape == (28, 28, 1) and ds[2]['gt_label'] == 4
    fashion = FashionMNIST(data_root=str(tmp_path), split='test', download=False)
    assert fashion.CLASSES[9] == 'Ankle boot'
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte'):
        MNIST(data_root=str(tmp_path), split='train', download=False)


def test_idx_truncated_or_not_idx(tmp_path):
    write_idx(tmp_path / 'x', np.zeros((4, 2, 2), np.uint8), gz=False)
    data = (tmp_path / 'x').read_bytes()
    (tmp_path / 'x').write_bytes(data[:-3])
    with pytest.raises(ValueError, match='truncated'):
        read_idx(str(tmp_path / 'x'))
    (tmp_path / 'y').write_bytes(b'PK\x03\x04garbage')
    with pytest.raises(ValueError, match='not an IDX file'):
        read_idx(str(tmp_path / 'y'))


def test_embedded_mnist_is_real_balanced_mnist():
    train, test = EmbeddedMNIST(split='train'), EmbeddedMNIST(split='test')
    assert len(train) == 12000 and len(test) == 2000
    np.testing.assert_array_equal(np.bincount(train.get_gt_labels()), [1200] * 10)
    np.testing.assert_array_equal(np.bincount(test.get_gt_labels()), [200] * 10)
    # the official order: training labels start 5 0 4 1 9, test labels 7 2 1 0 4
    assert train.get_gt_labels()[:5].tolist() == [5, 0, 4, 1, 9]
    assert test.get_gt_labels()[:5].tolist() == [7, 2, 1, 0, 4]
    img = train[0]['img']
    assert img.shape == (28, 28, 1) and img.max() == 255 and 0.05 < (img > 0).mean() < 0.4
    assert os.path.isfile(os.path.join(embedded_mnist_root(), 'train-images-idx3-ubyte.gz'))
    with pytest.raises(TypeError, match='data_root'):
        EmbeddedMNIST(data_root='/tmp')


# -- CustomDataset ---------------------------------------------------------------------------
@pytest.fixture
def image_tree(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / 'imgs'
    pixels = {}
    for cls, names in {'dog': ['b.png', 'a.jpg', 'sub/c.PNG'], 'cat': ['z.png', 'gray.png']}.items():
        for name in names:
            path = root / cls / name
            path.parent.mkdir(parents=True, exist_ok=True)
            arr = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            if name == 'gray.png':
                arr = arr[:, :, 0]
            Image.fromarray(arr).save(path)
            pixels[f'{cls}/{name}'] = arr
    (root / 'cat' / 'notes.txt').write_text('not an image')
    return root, pixels


def test_custom_folder_per_class(image_tree):
    root, pixels = image_tree
    ds = CustomDataset(data_root=str(root), pipeline=[dict(type='LoadImageFromFile'),
                                                      dict(type='PackInputs')])
    assert ds.CLASSES == ('cat', 'dog') and len(ds) == 5
    rel = [os.path.relpath(d['img_path'], root) for d in ds.data_list]
    assert rel == ['cat/gray.png', 'cat/z.png', 'dog/a.jpg', 'dog/b.png', 'dog/sub/c.PNG']
    np.testing.assert_array_equal(ds.get_gt_labels(), [0, 0, 1, 1, 1])
    out = ds[3]
    np.testing.assert_array_equal(out['inputs'], pixels['dog/b.png'].transpose(2, 0, 1))
    assert out['gt_label'] == 1 and out['img_path'].endswith('b.png')
    gray = ds[0]['inputs']  # grayscale file -> 3 equal channels
    assert gray.shape == (3, 6, 5) and (gray == pixels['cat/gray.png']).all()
    pngs = CustomDataset(data_root=str(root), extensions=['png'])
    assert len(pngs) == 4


def test_custom_ann_file_and_without_labels(image_tree):
    root, _ = image_tree
    (root / 'ann.txt').write_text('dog/b.png 1\n\ncat/z.png 0\ndog/sub/c.PNG 2\n')
    ds = CustomDataset(data_root=str(root), ann_file='ann.txt')
    assert len(ds) == 3 and ds.CLASSES == ('0', '1', '2')
    assert ds.data_list[0] == {'img_path': os.path.join(str(root), 'dog/b.png'), 'gt_label': 1}
    named = CustomDataset(data_root=str(root), ann_file='ann.txt',
                          metainfo=dict(classes=['x', 'y', 'z']))
    assert named.CLASSES == ('x', 'y', 'z')
    with pytest.raises(ValueError, match=r'label 2 of .*c\.PNG is out of range for 2 classes'):
        CustomDataset(data_root=str(root), ann_file='ann.txt', classes=['x', 'y'])
    (root / 'bad.txt').write_text('dog/b.png one\n')
    with pytest.raises(ValueError, match='line 1'):
        CustomDataset(data_root=str(root), ann_file='bad.txt')
    unlabeled = CustomDataset(data_root=str(root), with_label=False)
    assert len(unlabeled) == 5 and 'gt_label' not in unlabeled.data_list[0]
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        CustomDataset(data_root=str(root), ann_file='missing.txt')


def test_custom_clear_errors(tmp_path, image_tree):
    (tmp_path / 'empty' / 'cls').mkdir(parents=True)
    with pytest.raises(ValueError, match='no images found'):
        CustomDataset(data_root=str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='folder not found'):
        CustomDataset(data_root=str(tmp_path / 'nowhere'))
    root, _ = image_tree
    (root / 'dog' / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff garbage')
    ds = CustomDataset(data_root=str(root), pipeline=[dict(type='LoadImageFromFile')])
    idx = [os.path.basename(d['img_path']) for d in ds.data_list].index('corrupt.jpg')
    with pytest.raises(OSError, match='corrupt.jpg'):
        ds[idx]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_numpy1_era_cifar_pickle_loads(tmp_path):
    """Official batches were written by NumPy 1.x, which names ``numpy.core.multiarray``."""
    data = np.arange(3072, dtype=np.uint8).reshape(1, 3072)
    raw = pickle.dumps({'data': data, 'labels': [7]}, protocol=2)
    old = raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert old != raw
    loaded = safe_pickle_load(old)
    np.testing.assert_array_equal(loaded['data'], data)
    assert loaded['labels'] == [7]
