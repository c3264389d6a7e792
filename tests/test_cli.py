"""The command lines end to end on a tiny folder data set: train, resume, test, predict,
inference_model, and the two pictures."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from image_folders import two_colour_classes

from minicls import predict as predict_cli
from minicls import test as test_cli
from minicls import train as train_cli
from minicls.apis import inference_model
from minicls.tools import confusion_matrix, plot_curves

CONFIG = """
_base_ = ['{runtime}']
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4,
                  num_stages=1, strides=(2, ), dilations=(1, ), out_indices=(0, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=4))
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[60.0] * 3)
train_dataloader = dict(batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{root}/train', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=8,
    dataset=dict(type='CustomDataset', data_root='{root}/val', pipeline=pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = dict(type='MultiStepLR', milestones=[100])
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(type='LoggerHook', interval=3))
randomness = dict(seed=0)
"""


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp('cli')
    two_colour_classes(root, 8, colors=((220, 30, 30), (30, 30, 220)), names=('red', 'blue'))
    from minicls.configs import CONFIG_ROOT
    path = root / 'tiny.py'
    path.write_text(CONFIG.format(root=root, runtime=os.path.join(
        CONFIG_ROOT, '_base_', 'default_runtime.py')))
    return path


def _records(work_dir, mode='train'):
    out = []
    for stamp in sorted(os.listdir(work_dir)):
        path = os.path.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if os.path.isfile(path):
            out += [json.loads(line) for line in open(path)]
    return [r for r in out if r['mode'] == mode]


def test_train_resume_test_predict_and_pictures(config, tmp_path, capsys):
    work = tmp_path / 'work'
    assert train_cli.main([str(config), '--work-dir', str(work), '--seed', '3']) == 0
    assert (work / 'epoch_2.npz').is_file() and (work / 'tiny.py').is_file()
    assert [r['epoch'] for r in _records(work, 'val')] == [1, 2]
    # --resume picks up last_checkpoint and trains the extra epoch only
    assert train_cli.main([str(config), '--work-dir', str(work), '--resume',
                           '--cfg-options', 'train_cfg.max_epochs=3']) == 0
    assert [r['epoch'] for r in _records(work, 'val')] == [1, 2, 3]
    ckpt = str(work / 'epoch_3.npz')

    out = tmp_path / 'preds.json'
    assert test_cli.main([str(config), ckpt, '--out', str(out),
                          '--work-dir', str(tmp_path / 'test')]) == 0
    result = json.loads(out.read_text())
    assert len(result['predictions']) == 16 and result['classes'] == ['blue', 'red']
    first = result['predictions'][0]
    assert set(first) >= {'sample_idx', 'img_path', 'gt_label', 'pred_label', 'pred_scores'}
    hits = np.mean([p['gt_label'] == p['pred_label'] for p in result['predictions']])
    assert result['metrics']['accuracy/top1'] == pytest.approx(100 * hits)

    # `test CHECKPOINT`: the config saved in the checkpoint gives the same predictions
    out_ckpt = tmp_path / 'preds_ckpt.json'
    assert test_cli.main([ckpt, '--out', str(out_ckpt), '--work-dir', str(tmp_path / 't2')]) == 0
    assert json.loads(out_ckpt.read_text())['predictions'] == result['predictions']

    png = tmp_path / 'cm.png'
    assert confusion_matrix.main([str(out), '--out', str(png)]) == 0
    assert Image.open(png).size[0] > 100
    cm = confusion_matrix.confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert cm.tolist() == [[1, 1], [0, 2]]
    curves = tmp_path / 'curves.png'
    assert plot_curves.main([str(work), '--out', str(curves)]) == 0
    assert Image.open(curves).size[1] > 300
    train, val = plot_curves.load_scalars(str(work))
    assert [r['step'] for r in val] == [1, 2, 3] and train[-1]['epoch'] == 3

    image = first['img_path']
    capsys.readouterr()
    assert predict_cli.main([image, '--config', str(config), '--checkpoint', ckpt]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == image and lines[1].strip().startswith('1. ') and len(lines) == 3
    assert predict_cli.main([image, '--checkpoint', ckpt]) == 0   # config from the checkpoint
    assert capsys.readouterr().out.splitlines() == lines
    res = inference_model(str(config), image, checkpoint=ckpt)
    assert set(res) == {'pred_scores', 'pred_label', 'pred_score', 'pred_class'}
    assert res['pred_scores'].shape == (2,) and res['pred_scores'].sum() == pytest.approx(1)
    assert res['pred_label'] == first['pred_label']
    assert res['pred_class'] == result['classes'][res['pred_label']]
    arr = np.asarray(Image.open(image).convert('RGB'))
    assert inference_model(str(config), arr, checkpoint=ckpt)['pred_label'] == res['pred_label']

    # --tta: each image's scores are the mean of its own and its mirror image's
    out_tta = tmp_path / 'tta.json'
    assert test_cli.main([str(config), ckpt, '--tta', '--out', str(out_tta),
                          '--work-dir', str(tmp_path / 'tta')]) == 0
    tta = json.loads(out_tta.read_text())
    record = next(p for p in tta['predictions'] if p['img_path'] == image)
    mirror = np.ascontiguousarray(arr[:, ::-1])
    both = (res['pred_scores'] + inference_model(str(config), mirror,
                                                 checkpoint=ckpt)['pred_scores']) / 2
    np.testing.assert_allclose(record['pred_scores'], both, atol=1e-5)
    assert not np.allclose(record['pred_scores'], res['pred_scores'], atol=1e-5)
    hits = np.mean([p['gt_label'] == p['pred_label'] for p in tta['predictions']])
    assert tta['metrics']['accuracy/top1'] == pytest.approx(100 * hits)


def test_no_validate_and_auto_scale_lr(config, tmp_path):
    work = tmp_path / 'w'
    assert train_cli.main([str(config), '--work-dir', str(work), '--no-validate',
                           '--auto-scale-lr', '--cfg-options', 'train_cfg.max_epochs=1']) == 0
    assert _records(work, 'val') == []
    assert _records(work)[0]['lr'] == pytest.approx(0.1 * 4 / 8)  # batch 4, base batch 8


def test_cli_in_a_subprocess(config, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, '-m', 'minicls.train', str(config), '--work-dir',
                           str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1'],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'Epoch(val) [1][2/2]' in done.stderr and (tmp_path / 'epoch_1.npz').is_file()
    bad = subprocess.run([sys.executable, '-m', 'minicls.train', 'no_such_config'],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and 'resnet18_8xb16_cifar10' in bad.stderr
    assert 'Traceback' not in bad.stderr and len(bad.stderr.splitlines()) == 1
    bad = subprocess.run([sys.executable, '-m', 'minicls.test', str(config),
                          str(tmp_path / 'missing.npz')],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith('error: checkpoint not found: ')
    assert 'Traceback' not in bad.stderr and len(bad.stderr.splitlines()) == 1


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGINT to a child process is POSIX')
def test_a_real_ctrl_c_saves_a_checkpoint_and_resume_goes_on(config, tmp_path):
    """Send a real SIGINT to `python -m minicls.train` mid-run: it finishes the iteration,
    saves iter_N.npz (pointed to by last_checkpoint), exits with 130, and --resume goes on."""
    import signal
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    work = tmp_path / 'work'
    proc = subprocess.Popen([sys.executable, '-m', 'minicls.train', str(config), '--work-dir',
                             str(work), '--cfg-options', 'train_cfg.max_epochs=100000'],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:            # wait until training is under way
            if 'Epoch(train) [2]' in line:
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, rest
    assert 'Ctrl-C: stopping after this iteration' in rest
    saved = (work / 'last_checkpoint').read_text().strip()
    assert os.path.basename(saved).startswith('iter_') and os.path.isfile(saved)
    from minicls.engine.checkpoint import load_checkpoint
    meta = load_checkpoint(saved)['meta']
    assert f"iter_{meta['iter']}.npz" == os.path.basename(saved)
    epoch = meta['epoch']
    assert train_cli.main([str(config), '--work-dir', str(work), '--resume', '--cfg-options',
                           f'train_cfg.max_epochs={epoch + 1}']) == 0
    assert (work / f'epoch_{epoch + 1}.npz').is_file()
