"""What every transform shares: the call convention and the random number generator.

A transform is a small class. It is built from a config dict (``dict(type='RandomFlip',
prob=0.5)``), called with a *results* dict (``{'img': HWC uint8 array, 'gt_label': 3, ...}``),
and returns that dict with some keys changed or added. Transforms never write into the arrays
they are given (the dataset may hold them), they always make new ones or views.

Random transforms draw from :func:`get_rng`, a NumPy ``Generator`` that belongs to the current
thread. :func:`seed_transforms` reseeds it; the :class:`~minicls.datasets.DataLoader` calls it
before every batch with a seed made from ``(seed, epoch, batch index)``, so the same seed gives
the same augmentations whatever the number of workers and however threads are scheduled.
It also passes the epoch, which :func:`get_epoch` returns (transforms that change with the
epoch, such as ``AlternatingFlip``, read it).

Explained in tutorials/08_data_pipeline.md.
"""
import threading

import numpy as np

__all__ = ['BaseTransform', 'get_rng', 'get_epoch', 'seed_transforms']

_local = threading.local()


def seed_transforms(seed=None, epoch=None):
    """Reseed the random generator that transforms use in the calling thread.

    Args:
        seed (int | Sequence[int] | None): anything ``np.random.default_rng`` accepts; None draws
            fresh entropy from the operating system.
        epoch (int, optional): the training epoch of the samples that follow (for
            :func:`get_epoch`); None leaves it as it was.

    Returns:
        numpy.random.Generator: the new generator.
    """
    _local.rng = np.random.default_rng(seed)
    if epoch is not None:
        _local.epoch = int(epoch)
    return _local.rng


def get_epoch():
    """The epoch the loader gave the calling thread in :func:`seed_transforms` (0 if none)."""
    return getattr(_local, 'epoch', 0)


def get_rng():
    """The calling thread's generator (seeded from OS entropy if never seeded)."""
    rng = getattr(_local, 'rng', None)
    return rng if rng is not None else seed_transforms(None)


class BaseTransform:
    """Base class: ``transform(results) -> results``; ``__call__`` is the same thing.

    Subclasses store their arguments as attributes of the same name, so ``repr`` shows them.
    """

    def __call__(self, results):
        return self.transform(results)

    def transform(self, results):
        raise NotImplementedError

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{type(self).__name__}({args})'


def check_img(results, who):
    """The HWC (or HW) image in ``results``, with a clear error if it is missing."""
    img = results.get('img')
    if img is None:
        hint = (' Add dict(type=\'LoadImageFromFile\') at the start of the pipeline.'
                if 'img_path' in results else '')
        raise KeyError(f'{who}: no "img" in the results (keys: {sorted(results)}).{hint}')
    return img
