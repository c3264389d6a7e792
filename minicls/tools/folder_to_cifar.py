"""Convert a folder-per-class data set of 32x32 images to the official CIFAR-10 batch format.

    python -m minicls.tools.folder_to_cifar /data/cifar10_images datasets/cifar10

reads ``SRC/train/<class>/*`` and ``SRC/test/<class>/*`` (any folder-per-class set of 32x32
RGB images, e.g. CIFAR-10 exported as JPEG or PNG files) and writes
``DST/cifar-10-batches-py/`` (``data_batch_1..5``, ``test_batch``, ``batches.meta``), which
the ``CIFAR10`` dataset reads. Decoding the images once makes every later epoch cheaper: the
batches are loaded straight into memory.
"""
import argparse
import sys
import os
import os.path as osp
import pickle

import numpy as np
from tqdm import tqdm

from minicls.datasets import CustomDataset
from minicls.datasets.transforms.loading import read_image
from minicls.cli import command_line


def read_split(folder):
    """All images of ``folder`` as an (N, 32, 32, 3) uint8 array, their labels and classes."""
    dataset = CustomDataset(data_root=folder)
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    images = np.empty((len(items), 32, 32, 3), dtype=np.uint8)
    for i, item in enumerate(tqdm(items, desc=f'decoding {folder}', unit='img')):
        img = read_image(item['img_path'])
        if img.shape != (32, 32, 3):
            raise ValueError(f"{item['img_path']} is {img.shape}, not a 32x32 RGB image")
        images[i] = img
    labels = [int(item['gt_label']) for item in items]
    return images, labels, list(dataset.CLASSES)


def write_batch(path, images, labels, name):
    """One batch as CIFAR stores it: rows of 1024 R, then 1024 G, then 1024 B values."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        pickle.dump({b'batch_label': name.encode(), b'labels': labels, b'data': data}, f,
                    protocol=2)
    os.replace(tmp, path)


def convert(src, dst, seed=0):
    out = osp.join(dst, 'cifar-10-batches-py')
    os.makedirs(out, exist_ok=True)
    images, labels, classes = read_split(osp.join(src, 'train'))
    order = np.random.default_rng(seed).permutation(len(images))  # mix classes across batches
    for b, part in enumerate(np.array_split(order, 5), start=1):  # always 5, as the original
        write_batch(osp.join(out, f'data_batch_{b}'), images[part],
                    [labels[i] for i in part], f'training batch {b} of 5')
    images, labels, _ = read_split(osp.join(src, 'test'))
    order = np.random.default_rng(seed + 1).permutation(len(images))  # as the original: mixed
    write_batch(osp.join(out, 'test_batch'), images[order], [labels[i] for i in order],
                'testing batch 1 of 1')
    with open(osp.join(out, 'batches.meta'), 'wb') as f:
        pickle.dump({b'label_names': [c.encode() for c in classes]}, f, protocol=2)
    return out


@command_line
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='folder with train/<class>/ and test/<class>/')
    parser.add_argument('dst', help='data_root to write cifar-10-batches-py/ into')
    args = parser.parse_args(argv)
    print('wrote', convert(args.src, args.dst))


if __name__ == '__main__':
    sys.exit(main())
