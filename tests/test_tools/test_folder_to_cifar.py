"""The folder -> CIFAR batch converter writes files the CIFAR10 dataset reads back exactly."""
import numpy as np
from PIL import Image

from minicls.datasets import CIFAR10
from minicls.tools.folder_to_cifar import convert


def test_round_trip_through_the_official_format(tmp_path):
    rng = np.random.default_rng(0)
    written = {}
    for split, n in (('train', 3), ('test', 2)):
        for cls in ('cat', 'dog'):
            for i in range(n):
                img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                path = tmp_path / 'src' / split / cls / f'{i}.png'
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(path)
                written[(split, cls, i)] = img
    convert(str(tmp_path / 'src'), str(tmp_path / 'dst'))
    train = CIFAR10(data_root=str(tmp_path / 'dst'), split='train', download=False)
    test = CIFAR10(data_root=str(tmp_path / 'dst'), split='test', download=False)
    assert len(train) == 6 and len(test) == 4
    assert train.CLASSES == ('cat', 'dog')
    train_imgs = {train[i]['img'].tobytes(): train[i]['gt_label'] for i in range(len(train))}
    for (split, cls, i), img in written.items():
        if split == 'train':
            assert train_imgs[img.tobytes()] == ('cat', 'dog').index(cls)
    test_imgs = sorted(test[i]['img'].tobytes() for i in range(len(test)))
    assert test_imgs == sorted(v.tobytes() for k, v in written.items() if k[0] == 'test')
