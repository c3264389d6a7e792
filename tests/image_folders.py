"""Tiny image-folder data sets for the tests that train or predict on real PNG files.

``save_images`` writes ``n`` 8x8 PNGs of one colour plus Gaussian noise; the tests build
their class folders with it (``data/train/red/0.png``, ...), each with the colours, counts
and noise its check needs.
"""
import numpy as np
from PIL import Image


def save_images(folder, color, n, rng, noise=30, mode='RGB'):
    """Write ``n`` 8x8 images ``color + N(0, noise)`` (clipped to 0-255, uint8) into ``folder``
    (created) as ``0.png ... {n-1}.png``, converted to PIL ``mode``; ``rng`` is a
    ``numpy.random.Generator`` (one shared by several calls gives different images)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.clip(np.array(color) + rng.normal(0, noise, (8, 8, 3)), 0, 255)
        Image.fromarray(img.astype(np.uint8)).convert(mode).save(folder / f'{i}.png')


def two_colour_classes(root, per_class, colors=((200, 40, 40), (40, 40, 200)), noise=30,
                       names=('class0', 'class1'), seed=0):
    """``root/{train,val}/{names}``: ``per_class`` noisy images of each colour per split."""
    rng = np.random.default_rng(seed)
    for split in ('train', 'val'):
        for name, color in zip(names, colors):
            save_images(root / split / name, color, per_class, rng, noise)
    return root
