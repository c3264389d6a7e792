"""What the tests that start real MPI ranks share (tests/test_distributed/): the skip marker
``needs_mpi``, ``mpiexec(...)`` (2 ranks of this Python in a subprocess, with a timeout) and a
tiny config that trains in seconds with the image folders ``tiny_folders`` writes."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from image_folders import save_images

ROOT = Path(__file__).resolve().parent.parent
DIST_TESTS = ROOT / 'tests' / 'test_distributed'  # mpi_ranks.py

try:
    import mpi4py  # noqa: F401
    MPIEXEC = shutil.which('mpiexec')
    WHY = 'mpiexec not on PATH (pip install -e ".[dist]")'
except ImportError:
    MPIEXEC, WHY = None, 'mpi4py is not installed (pip install -e ".[dist]")'
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason=WHY)


def mpiexec(*args, cwd=None, timeout=60):
    """``mpiexec -n 2 python ARGS`` (minicls and tests/test_distributed importable)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(DIST_TESTS)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return subprocess.run([MPIEXEC, '-n', '2', sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


TINY_CONFIG = """
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
model = dict(type='ImageClassifier',
             backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=1, strides=(1, ),
                           dilations=(1, ), out_indices=(0, ), base_channels=4,
                           stem_channels=4, norm_cfg=dict(type='SyncBN')),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=2, in_channels=4))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[60.0] * 3)
train_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='CustomDataset', data_root='data/train',
                                     pipeline=pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(type='CustomDataset', data_root='data/val',
                                                 pipeline=pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
auto_scale_lr = dict(base_batch_size=4)
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), progress_bar=dict(disable=True))
randomness = dict(seed=0)
work_dir = 'work'
"""


def tiny_folders(root):
    """Two colour classes of 8x8 images, 6 + 6 to train; 7 images of noise to validate (an
    accuracy of k/7 with 0 < k < 7, which a counted padding sample would change)."""
    rng = np.random.default_rng(0)
    for split, counts in (('train', (6, 6)), ('val', (4, 3))):
        colors = [(200, 40, 40), (40, 40, 200)] if split == 'train' else [(127, 127, 127)] * 2
        for c, (color, count) in enumerate(zip(colors, counts)):
            save_images(root / 'data' / split / f'class{c}', color, count, rng, noise=60)
