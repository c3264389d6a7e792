"""Data checked before training, predict on many inputs, and what the end of a run tells you:
the summary, curves.png, confusion matrices, progress bars in log files."""
import os

import numpy as np
import pytest
from PIL import Image

from image_folders import save_images

from minicls import nn
from minicls import predict as predict_cli
from minicls.datasets import CustomDataset
from minicls.datasets.checks import check_datasets
from minicls.datasets.transforms import loading
from minicls.engine import Hook
from minicls.engine.runner import Runner
from minicls.registry import HOOKS, MODELS
from minicls.tools import _draw, confusion_matrix, plot_curves


@MODELS.register_module(force=True)
class RunendConvNet(nn.Module):
    """conv 3x3 -> ReLU, a 1-tuple (the test backbone; its first conv fixes the channels)."""

    def __init__(self, in_channels=3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)

    def forward(self, x):
        return (self.conv(x).relu(),)


def _images(folder, color, n=6, mode='RGB', seed=0):
    save_images(folder, color, n, np.random.default_rng(seed), mode=mode)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('runend')
    for split in ('train', 'val'):
        _images(root / split / 'blue', (40, 40, 200))
        _images(root / split / 'red', (200, 40, 40))
    return root


PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


def make_cfg(train, val, work_dir, num_classes=2, in_channels=3, pipeline=PIPELINE, **over):
    cfg = dict(
        model=dict(type='ImageClassifier', backbone=dict(type='RunendConvNet',
                                                         in_channels=in_channels),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=4)),
        data_preprocessor=dict(num_classes=num_classes, mean=[127.5] * in_channels,
                               std=[60.0] * in_channels),
        train_dataloader=dict(batch_size=4, dataset=dict(
            type='CustomDataset', data_root=str(train), pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=True)),
        val_dataloader=dict(batch_size=6, dataset=dict(
            type='CustomDataset', data_root=str(val), pipeline=pipeline)),
        val_evaluator=dict(type='Accuracy', topk=(1,)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        default_hooks=dict(logger=dict(interval=1), progress_bar=dict(disable=True),
                           checkpoint=dict(interval=1, save_best='auto')),
        randomness=dict(seed=0), work_dir=str(work_dir))
    cfg.update(over)
    return cfg


# -- folder data sets checked before training ---------------------------------------------------
def test_an_empty_class_folder_is_refused_with_its_absolute_path(tmp_path, monkeypatch):
    _images(tmp_path / 'data' / 'bird', (0, 0, 0), n=2)
    (tmp_path / 'data' / 'ant').mkdir()  # sorted first: it would shift every label by one
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match='class folder.* with no images: ' +
                       str(tmp_path / 'data' / 'ant')):
        CustomDataset(data_root='data')
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'data' / 'ann.txt')):
        CustomDataset(data_root='data', ann_file='ann.txt')


def test_an_empty_class_folder_among_given_classes_keeps_the_labels(tmp_path, log):
    _images(tmp_path / 'bird', (0, 0, 0), n=2)
    (tmp_path / 'ant').mkdir()
    ds = CustomDataset(data_root=str(tmp_path), metainfo=dict(classes=['ant', 'bird']))
    assert ds.get_gt_labels().tolist() == [1, 1]
    assert f'class folder(s) with no images: {tmp_path / "ant"}' in log.text


def test_train_and_val_with_different_classes_are_refused(tmp_path, data_root):
    _images(tmp_path / 'val' / 'blue', (40, 40, 200), n=2)
    _images(tmp_path / 'val' / 'green', (40, 200, 40), n=2)
    runner = Runner.from_cfg(make_cfg(data_root / 'train', tmp_path / 'val', tmp_path / 'w'))
    with pytest.raises(ValueError, match=r"only in train: \['red'\]; only in val: \['green'\]"):
        runner.train()
    assert not os.path.exists(tmp_path / 'w' / 'epoch_1.npz')  # refused before training


def test_a_class_count_unlike_the_heads_names_both_numbers_and_keys(data_root, tmp_path):
    runner = Runner.from_cfg(make_cfg(data_root / 'train', data_root / 'val', tmp_path,
                                      num_classes=10))
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert 'has 2 classes' in msg and str(data_root / 'train') in msg
    assert 'model.head.num_classes=10 and data_preprocessor.num_classes=10' in msg
    assert '--cfg-options model.head.num_classes=2 data_preprocessor.num_classes=2' in msg


def test_grayscale_images_for_a_3_channel_model(tmp_path, monkeypatch, log):
    for name, color in (('a', (30, 30, 30)), ('b', (220, 220, 220))):
        _images(tmp_path / name, color, n=2, mode='L')
    gray = [dict(type='LoadImageFromFile', color_type='grayscale'), dict(type='PackInputs')]
    cfg = make_cfg(tmp_path, tmp_path, tmp_path / 'w')
    model = MODELS.build(dict(cfg['model'], data_preprocessor=cfg['data_preprocessor']))
    with pytest.raises(ValueError, match=r"have 1 channel\(s\) but model.backbone.conv "
                                         r"\(Conv2d\) expects 3, data_preprocessor.mean "
                                         r"expects 3: load them as RGB"):
        check_datasets(model, CustomDataset(data_root=str(tmp_path), pipeline=gray))
    # the default color_type='color' converts them, and says so once
    monkeypatch.setattr(loading, '_CONVERTED', set())
    check_datasets(model, CustomDataset(data_root=str(tmp_path), pipeline=PIPELINE))
    assert "mode 'L', not RGB: converted to 3-channel RGB" in log.text


# -- the end of a run -------------------------------------------------------------------------
@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('work')
    runner = Runner.from_cfg(make_cfg(data_root / 'train', data_root / 'val', work))
    runner.train()
    with open(work / runner.timestamp / f'{runner.timestamp}.log') as f:
        return work, f.read()


def test_the_run_ends_with_a_summary_and_the_next_commands(trained):
    work, log = trained
    assert 'Done after epoch 2/2' in log
    assert 'accuracy/top1: best ' in log and ', last ' in log and 'at epoch 2.' in log
    best = [f for f in os.listdir(work) if f.startswith('best_accuracy_top1_epoch_')]
    assert f'best checkpoint: {work / best[0]}' in log
    assert f'last checkpoint: {work / "epoch_2.npz"}' in log
    assert f'python -m minicls.test {work / "config.py"} {work / best[0]} --out' in log
    assert 'python -m minicls.tools.confusion_matrix ' in log
    assert 'python -m minicls.predict IMAGE_OR_FOLDER --config ' in log


def test_curves_png_is_written_into_the_work_dir(trained):
    work, log = trained
    img = Image.open(work / 'curves.png')
    assert img.size[1] == 3 * 340 and f'curves:          {work / "curves.png"}' in log
    assert plot_curves.main([str(work), '--out', str(work / 'log.png'), '--log-loss']) == 0
    assert Image.open(work / 'log.png').size == img.size


def test_epoch_ticks_are_whole_numbers_and_log_ticks_are_round():
    assert _draw.nice_ticks(1, 3, integer=True) == [1, 2, 3]
    assert _draw.nice_ticks(1, 12, integer=True) == [2, 4, 6, 8, 10, 12]
    assert all(float(t).is_integer() for t in _draw.nice_ticks(0, 7, integer=True))
    assert _draw.log_ticks(np.log10(0.3), np.log10(2.3)) == [0.5, 1.0, 2.0]


def test_confusion_matrix_small_title_errors_and_blank_zeros():
    title = 'confusion matrix (24 images, top-1 95.83%) and a long title'
    img = confusion_matrix.draw_confusion_matrix(np.array([[11, 1], [0, 12]]),
                                                 ['a', 'b'], normalize=True, title=title)
    pixels = np.asarray(img)
    assert (pixels[:, -8:] == 255).all()  # nothing (the title) runs into the right edge
    # the cells: label width for one letter, +30, 60 px each; top = 40 + label width
    label_w = img.height - 40 - 2 * 60 - 40
    x0, top = label_w + 30, 40 + label_w
    error = pixels[top + 5:top + 55, x0 + 65:x0 + 115]          # row a, column b: 1 error
    zero = pixels[top + 65:top + 115, x0 + 5:x0 + 55]           # row b, column a: none
    assert (error[..., 0] > 200).all() and (error[..., 1] < 220).any()   # red
    assert (zero == 255).all()                                  # blank: white, no '0.00'


def test_progress_bars_are_written_when_stderr_is_a_log_file(data_root, tmp_path, capsys):
    cfg = make_cfg(data_root / 'train', data_root / 'val', tmp_path,
                   default_hooks=dict(progress_bar=dict(disable=None)))
    Runner.from_cfg(cfg).train()
    err = capsys.readouterr().err
    assert 'Epoch 2/2' in err and '3/3' in err  # the final state of each bar stays


# -- predict on many inputs ------------------------------------------------------------------
def test_predict_a_folder_a_glob_and_a_non_image(trained, data_root, tmp_path, capsys):
    work, _ = trained
    config, ckpt = str(work / 'config.py'), str(work / 'epoch_2.npz')
    (tmp_path / 'notes.txt').write_text('not an image')
    folder = str(data_root / 'val' / 'red')
    argv = [folder, str(data_root / 'val' / 'blue' / '*.png'), str(tmp_path / 'notes.txt'),
            '--config', config, '--checkpoint', ckpt, '--topk', '1']
    assert predict_cli.main(argv) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 12 and all(len(line.split()) == 3 for line in lines)
    assert lines[0].startswith(os.path.join(folder, '0.png') + '  ')
    assert f'{tmp_path / "notes.txt"}: not an image minicls can read' in err
    assert '1 of 13 inputs could not be classified' in err
    assert predict_cli.main([str(tmp_path / 'none*.png'), '--config', config,
                             '--checkpoint', ckpt]) == 2
    assert 'no file matches this pattern' in capsys.readouterr().err


@HOOKS.register_module(force=True)
class RunendStopHook(Hook):
    """A Ctrl-C before iteration 4 (in epoch 2)."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 4:
            raise KeyboardInterrupt


def test_an_interrupted_run_says_so_and_how_to_resume(data_root, tmp_path):
    cfg = make_cfg(data_root / 'train', data_root / 'val', tmp_path,
                   custom_hooks=[dict(type='RunendStopHook')])
    runner = Runner.from_cfg(cfg)
    runner.train()
    with open(tmp_path / runner.timestamp / f'{runner.timestamp}.log') as f:
        log = f.read()
    assert 'Interrupted after epoch 1/2' in log and 'minicls.test' not in log
    assert f'python -m minicls.train {tmp_path / "config.py"} --resume' in log


# -- docs and the test summary -----------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_nothing_a_user_reads_names_a_file_they_do_not_have():
    bad = []
    for top in ('minicls', 'datasets', 'tutorials', 'README.md'):
        path = os.path.join(ROOT, top)
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
            if f.endswith(('.py', '.md', '.txt'))]
        for name in files:
            with open(name, encoding='utf-8') as f:
                text = f.read()
            bad += [name for word in ('../shared', 'shared/data', 'cifar10-jpeg') if word in text]
    assert not bad


def test_skips_are_summed_up_in_one_line_per_reason():
    import conftest

    class Report:
        def __init__(self, reason):
            self.longrepr = ('tests/test_x.py', 3, f'Skipped: {reason}')

    class Reporter:
        stats = {'skipped': [Report('no torch')] * 3 + [Report('no CuPy')]}
        lines = []

        def write_line(self, line):
            self.lines.append(line)

    conftest.pytest_terminal_summary(Reporter())
    assert Reporter.lines == ['skipped: 3 (no torch); 1 (no CuPy)']


def test_a_visualization_hook_asked_to_draw_says_it_cannot(log):
    """mmpretrain's configs carry VisualizationHook(enable=False); enable=True would draw
    predictions, which minicls does not: a warning, not silence."""
    HOOKS.build(dict(type='VisualizationHook', enable=False))
    assert 'VisualizationHook' not in log.text
    HOOKS.build(dict(type='VisualizationHook', enable=True, interval=5))
    assert 'does not draw predictions' in log.text and 'curves.png' in log.text
