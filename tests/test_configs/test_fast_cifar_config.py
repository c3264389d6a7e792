"""The fast CIFAR-10 recipe: its numbers, and the whole recipe end to end on tiny data
(whitening, EMA in checkpoints, six-view --tta); a slow run of the recipe as shipped."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicls import test as test_cli
from minicls.config import Config
from minicls.engine import build_optim_wrapper, build_param_schedulers
from minicls.engine.checkpoint import load_checkpoint
from minicls.engine.runner import Runner
from minicls.models import AverageClsScoreTTA
from minicls.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'minicls/configs/fast_cifar/fast_cifar_net_1xb1024_cifar10.py'


def test_recipe_numbers():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.model.backbone.type == 'FastCifarNet' and cfg.train_dataloader.batch_size == 1024
    assert [t['type'] for t in cfg.train_pipeline] == ['RandomCrop', 'AlternatingFlip',
                                                       'PackInputs']
    assert cfg.tta_model.shifts == ((0, 0), (1, 1), (-1, -1))
    model = MODELS.build(cfg.model.to_dict())
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper.to_dict())
    names = {id(g['params'][0]): n for g in wrapper.param_groups
             for n, p in model.named_parameters() if p is g['params'][0]}
    lrs = {names[id(g['params'][0])]: (g['lr'], g['weight_decay']) for g in wrapper.param_groups}
    assert 'backbone.whiten.weight' not in lrs          # frozen: not optimised
    assert lrs['backbone.whiten.bias'] == lrs['backbone.groups.0.layers.2.bias'] \
        == pytest.approx((96.0, 1.33e-3 / 64))
    assert lrs['backbone.groups.0.layers.0.weight'] == lrs['head.fc.bias'] \
        == pytest.approx((1.5, 1.33e-3))
    # the same lr * wd everywhere: decoupled weight decay
    assert len({round(lr * wd, 9) for lr, wd in lrs.values()}) == 1
    schedulers = build_param_schedulers([s.to_dict() for s in cfg.param_scheduler], wrapper,
                                        epoch_length=49, max_epochs=10, max_iters=490)
    trace = []
    for _ in range(490):
        trace.append(wrapper.param_groups[1]['lr'])
        for s in schedulers:
            s.step()
    assert trace[0] == pytest.approx(0.3) and max(trace) == pytest.approx(1.5, rel=5e-3)
    assert 110 <= int(np.argmax(trace)) <= 114 and trace[-1] == pytest.approx(0.105, rel=0.02)


@pytest.fixture(scope='module')
def tiny_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('tinycifar')
    rng = np.random.default_rng(0)
    for split, n in (('train', 8), ('val', 4)):
        for c in range(2):
            (root / split / f'c{c}').mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 120, (32, 32, 3)).astype(np.uint8) + 100 * c
                Image.fromarray(img).save(root / split / f'c{c}' / f'{i}.png')
    return root


def tiny_cfg(root, work_dir):
    """The recipe as shipped, only smaller: 8/16/16 channels, 16 images of 2 classes."""
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.backbone.widths = (8, 16, 16)
    cfg.model.head.in_channels = 16
    cfg.model.head.num_classes = cfg.data_preprocessor.num_classes = 2
    for key, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                       ('test_dataloader', 'val')):
        loader = cfg[key]
        pipeline = [dict(type='LoadImageFromFile')] + list(loader.dataset.pipeline)
        loader.dataset = dict(type='CustomDataset', data_root=str(root / split),
                              pipeline=pipeline)
        loader.batch_size, loader.num_workers = 8, 0
    cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = 2
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = 0.5
    cfg.custom_hooks[0].num_images = 4
    cfg.custom_hooks[1].begin_epoch = 1
    cfg.custom_hooks[2].num_samples = 8
    cfg.work_dir = str(work_dir)
    return cfg


def test_recipe_end_to_end_on_tiny_data(tiny_folders, tmp_path):
    cfg = tiny_cfg(tiny_folders, tmp_path / 'work')
    runner = Runner(cfg)
    runner.train()
    whiten = runner.model.backbone.whiten.weight.numpy()
    np.testing.assert_array_equal(whiten[12:], -whiten[:12])    # set by WhiteningInitHook
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'PreciseBNHook: BN statistics of 6 layers recomputed on 8 training images ' \
           '(averaged weights)' in log
    ckpt = load_checkpoint(str(tmp_path / 'work' / 'epoch_2.npz'))
    ema = ckpt['ema_state_dict']
    assert ema['steps'] == 4                                  # 2 iterations x 2 epochs
    key = 'backbone.groups.0.layers.0.weight'
    train_weights = runner.model.state_dict()[key]
    np.testing.assert_array_equal(ema[f'module.{key}'], train_weights)   # swapped in the file
    assert not np.array_equal(ckpt['state_dict'][key], train_weights)   # the average
    bn = 'backbone.groups.0.layers.2.running_mean'    # with PreciseBN's statistics for it
    np.testing.assert_array_equal(ckpt['state_dict'][bn], runner.model.state_dict()[bn])
    # --tta with the config's six views, on the averaged weights
    config = str(tmp_path / 'work' / os.path.basename(str(CONFIG)))
    out = tmp_path / 'preds.json'
    assert test_cli.main([config, str(tmp_path / 'work' / 'epoch_2.npz'), '--tta', '--out',
                          str(out), '--work-dir', str(tmp_path / 'test')]) == 0
    record = json.loads(out.read_text())['predictions'][0]
    model = runner.model
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    img = np.asarray(Image.open(record['img_path']).convert('RGB')).transpose(2, 0, 1)
    x = model.data_preprocessor({'inputs': img[None].copy()})['inputs']
    six = AverageClsScoreTTA(model, shifts=((0, 0), (1, 1), (-1, -1)))
    np.testing.assert_allclose(record['pred_scores'], six.predict(x)['pred_score'].numpy()[0],
                               rtol=1e-4, atol=1e-6)


def write_coloured_squares(root, n_train, n_test, seed=0):
    """A CIFAR-10 look-alike in the official batch format (``cifar-10-batches-py/``): noisy
    32x32 images, each with a square of its class's colour somewhere in it."""
    import pickle
    rng = np.random.default_rng(seed)
    palette = rng.integers(80, 256, (10, 3))
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)

    def batch(n):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 80, (n, 32, 32, 3))
        for image, label, (y, x) in zip(images, labels, rng.integers(0, 21, (n, 2))):
            image[y:y + 12, x:x + 12] = palette[label]
        data = images.astype(np.uint8).transpose(0, 3, 1, 2).reshape(n, 3072)
        return {b'batch_label': b'squares', b'data': data, b'labels': labels.tolist(),
                b'filenames': [b'x.png'] * n}
    per_batch = -(-n_train // 5)
    for i in range(5):
        with open(folder / f'data_batch_{i + 1}', 'wb') as f:
            pickle.dump(batch(per_batch), f, protocol=2)
    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump(batch(n_test), f, protocol=2)
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({b'label_names': [f'c{i}'.encode() for i in range(10)]}, f, protocol=2)


@pytest.mark.slow
def test_recipe_learns_in_a_fraction_of_an_epoch(tmp_path):
    """The shipped recipe as it is (batch 1024, whitening, EMA, PreciseBN), 10 iterations with
    the schedule compressed into them, on CIFAR-format data written here (CI has no network
    for the real CIFAR-10): from chance (10%) to > 60% top-1 on 1000 test images."""
    write_coloured_squares(tmp_path / 'data', n_train=10240, n_test=1000)
    cfg = Config.fromfile(str(CONFIG))
    data_root = str(tmp_path / 'data')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(data_root=data_root, download=False)
    cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = 1
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = 0.23
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner(cfg)
    runner.train()
    metrics = runner._eval_epoch('val')
    assert metrics['accuracy/top1'] > 60.0
