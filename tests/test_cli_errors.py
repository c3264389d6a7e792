"""What the command lines say about a user's mistakes: one line on stderr, exit code 2, no
traceback (``minicls/cli.py``); ``--debug`` / ``MINICLS_DEBUG=1`` show the traceback; bugs
keep theirs. Also ``--help`` and ``python -m minicls``."""
import argparse

import pytest

from minicls import cli
from minicls import predict as predict_cli
from minicls import test as test_cli
from minicls import train as train_cli
from minicls.config.errors import ConfigError, ConfigKeyError
from minicls.configs import QUICKSTART
from minicls.engine.checkpoint import load_checkpoint, save_checkpoint
from minicls.engine.hooks.hook import get_priority
from minicls.registry import HOOKS, MODELS, OPTIMIZERS
from minicls.tools import confusion_matrix, plot_curves

from checkpoint_runs import TINY, log_text  # TINY: --cfg-options, a 16-image quickstart
from test_cli import config  # noqa: F401  (the tiny folder config, a fixture)


def _tiny(folder, text, work, *options, resume=None):
    """The command line that trains the tiny quickstart (``TINY``) with ``text`` added to its
    config (written in ``folder``) in the work dir ``work``."""
    cfg_file = folder / 'config.py'
    cfg_file.write_text(f'_base_ = [{QUICKSTART!r}]\n{text}')
    return [str(cfg_file), '--work-dir', str(work)] + (['--resume', str(resume)] if resume
                                                       else []) + ['--cfg-options', *TINY, *options]


def _one_line_error(capsys):
    """The error line (log lines may come before it)."""
    err = capsys.readouterr().err
    assert 'Traceback' not in err, err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1 and err.splitlines()[-1] == lines[0], err
    return lines[0]


@pytest.mark.parametrize('options, says', [
    (['train_cfg.max_epoch=1'], "train_cfg has no key 'max_epoch'. Did you mean 'max_epochs'?"),
    (['default_hooks.checkpoint.intervl=2'],
     "default_hooks.checkpoint: CheckpointHook has no argument 'intervl'. Did you mean "
     "'interval'?"),
    (['train_cfg.max_epochs=abc'], "train_cfg.max_epochs='abc': train_cfg.max_epochs must be "
                                   'an integer (the config has 2)'),
    (['train_cfg.max_epochs=2.5'], 'train_cfg.max_epochs must be an integer'),
    (['optim_wrapper.optimizer.lr=1e-x'], 'optimizer.lr must be a number such as 0.1 or 1e-3'),
    (['val_cfg.fp16=True'], "val_cfg has no key 'fp16'"),
    (['train_dataloader.batchsize=2'],
     "train_dataloader has no key 'batchsize'. Did you mean 'batch_size'?"),
    (['model.backbone.type=ResNet_CIFAR10'],
     "'ResNet_CIFAR10' is not in the model registry. Did you mean 'ResNet_CIFAR'"),
    (['param_scheduler.milestone=[1]'],
     "param_scheduler MultiStepLR has no argument 'milestone'. Did you mean 'milestones'?"),
])
def test_config_mistakes_are_one_line_and_exit_code_2(config, tmp_path, capsys, options, says):
    argv = [str(config), '--work-dir', str(tmp_path), '--cfg-options'] + options
    assert train_cli.main(argv) == 2
    assert says in _one_line_error(capsys)


@pytest.mark.parametrize('hook, says', [
    ("dict(type='FreezeParamsHook', params=['head.fc.bais'], train_epochs=1)",
     "FreezeParamsHook: the model has no parameter 'head.fc.bais'. Did you mean 'head.fc.bias'?"),
    ("dict(type='PreciseBNHook', num_samples=0)",
     'PreciseBNHook: num_samples must be an integer >= 1, got 0'),
    ("dict(type='WhiteningInitHook', layer='backbone.conv')",
     "WhiteningInitHook: the model has no conv layer 'backbone.conv'. Did you mean "
     "'backbone.conv1'? Valid conv layers: backbone.conv1, "),
    ("dict(type='EMAHook', momentum='fast')",
     "EMAHook: ExponentialMovingAverage: momentum must be a number in (0, 1), got 'fast'"),
    ("dict(type='LookaheadHook', interval='x')",
     "LookaheadHook: interval must be an integer >= 1, got 'x' (a str)"),
], ids=['FreezeParamsHook', 'PreciseBNHook', 'WhiteningInitHook', 'EMAHook', 'LookaheadHook'])
def test_hook_mistakes_are_one_line_and_nothing_is_trained(tmp_path, capsys, hook, says):
    work = tmp_path / 'work'
    assert train_cli.main(_tiny(tmp_path, f'custom_hooks = [{hook}]\n', work)) == 2
    assert says in _one_line_error(capsys)
    assert not list(tmp_path.rglob('*.npz')) and not list(tmp_path.rglob('scalars.json'))
    assert 'Epoch(train)' not in (log_text(work) if work.exists() else '')  # not a step


EMA = "custom_hooks = [dict(type='EMAHook', momentum=0.1)]\n"


@pytest.fixture(scope='module')
def saved_run(tmp_path_factory):
    """epoch_2.npz of a 2-epoch run of the tiny quickstart with EMAHook (2 schedulers)."""
    folder = tmp_path_factory.mktemp('saved_run')
    assert train_cli.main(_tiny(folder, EMA, folder / 'work', 'train_cfg.max_epochs=2')) == 0
    return folder / 'work' / 'epoch_2.npz'


@pytest.mark.parametrize('text, option, says', [
    ("param_scheduler = [dict(type='ConstantLR', factor=0.5, end=1)]\n", None,
     'it holds the state of 2 parameter scheduler(s), but param_scheduler builds 1 '
     '(ConstantLR); a scheduler with no end that would begin after the last epoch is skipped, '
     'so train_cfg.max_epochs counts too. Resume with the param_scheduler of the run that '
     'saved it, or start a new run without --resume (resume=False), with load_from='),
    ("param_scheduler = [dict(type='ConstantLR', end=1), dict(type='StepLR', step_size=1)]\n",
     None, 'its param_scheduler 0 (ConstantLR) state cannot be loaded: ConstantLR.load_state_'
     'dict: the state was saved by another kind of scheduler: it has end_factor, '),
    ("optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.001, _delete_=True))\n", None,
     'its optimizer state cannot be loaded: loaded state dict was not saved by Adam: its '
     'parameter group 0 has no amsgrad, betas, eps. Resume with the optim_wrapper'),
    ('', 'model.backbone.base_channels=8',
     'its model weights cannot be loaded: Error(s) in loading state_dict for ImageClassifier: '
     'size mismatch for backbone.layer1.0.conv1.weight: copying a param with shape (4, 4, 3, '
     '3) from checkpoint, the shape in current model is (8, 4, 3, 3). size mismatch'),
    ('ema_state_dict', None, "its EMAHook state cannot be loaded: ExponentialMovingAverage."
     'load_state_dict: the state is of another model: missing key(s) module.head.fc.bias. '
     'Resume with the hooks of the run'),
], ids=['scheduler_count', 'scheduler_kind', 'optimizer', 'model', 'ema'])
def test_a_resume_that_does_not_fit_the_checkpoint_is_one_line(saved_run, tmp_path, capsys,
                                                                 text, option, says):
    """Another param_scheduler, optimizer, model, or an EMA state missing a key: the CLI says
    which file and which part, and how to go on (the same config, or load_from)."""
    ckpt = saved_run
    if text == 'ema_state_dict':   # a checkpoint edited by hand
        ckpt, text = tmp_path / 'edited.npz', ''
        state = load_checkpoint(str(saved_run))
        del state['ema_state_dict']['module.head.fc.bias']
        save_checkpoint(state, str(ckpt))
    argv = _tiny(tmp_path, EMA + text, tmp_path / 'work', 'train_cfg.max_epochs=3',
                 *([option] if option else []), resume=ckpt)
    assert train_cli.main(argv) == 2
    line = _one_line_error(capsys)
    assert line.startswith(f'error: cannot resume from {ckpt}: ') and says in line, line
    assert line.endswith(f"load_from='{ckpt}' to begin from its weights only.")


def _sgd():
    from minicls import nn
    return nn.Linear(2, 2).parameters()


def _scheduler(kind, **kwargs):
    from minicls.engine.optim import SGD
    from minicls.registry import PARAM_SCHEDULERS
    return PARAM_SCHEDULERS.build(dict(type=kind, optimizer=SGD(_sgd(), lr=0.1), **kwargs))


@pytest.mark.parametrize('build, says', [
    (lambda: HOOKS.build(dict(type='CheckInvalidLossHook', interval=0)), 'interval must be'),
    (lambda: HOOKS.build(dict(type='CheckpointHook', by_epoch=False)), 'by_epoch=False'),
    (lambda: HOOKS.build(dict(type='CheckpointHook', rule='more')), "got 'more'"),
    (lambda: HOOKS.build(dict(type='CheckpointHook', save_best='acc')).after_val_epoch(
        None, {'accuracy/top1': 50.0}), "save_best='acc' but the metrics are ['accuracy/top1']"),
    (lambda: HOOKS.build(dict(type='EMAHook', begin_epoch=-1)), 'begin_epoch must be an integer'),
    (lambda: HOOKS.build(dict(type='FreezeParamsHook', params=[], train_epochs=1)), 'empty'),
    (lambda: HOOKS.build(dict(type='FreezeParamsHook', params='a', train_epochs=-1)), 'got -1'),
    (lambda: HOOKS.build(dict(type='LookaheadHook', decay=2)), 'decay must be a number in [0, 1]'),
    (lambda: HOOKS.build(dict(type='WhiteningInitHook', num_images=0)), 'got 0'),
    (lambda: get_priority('HIHG'), "unknown hook priority 'HIHG'"),
    (lambda: OPTIMIZERS.build(dict(type='SGD', params=_sgd(), lr=-1)), 'lr=-1'),
    (lambda: OPTIMIZERS.build(dict(type='AdamW', params=_sgd(), betas=(1, 0.9))), 'betas'),
    (lambda: _scheduler('LinearLR', start_factor=2, end=3), 'start_factor'),
    (lambda: _scheduler('CosineAnnealingLR', eta_min=0, eta_min_ratio=0, end=3), 'not both'),
    (lambda: _scheduler('OneCycleLR', total_steps=5, pct_start=2), 'pct_start'),
    (lambda: _scheduler('StepLR', step_size=1, begin=3, end=3), 'end must be larger'),
    (lambda: MODELS.build(dict(type='AverageClsScoreTTA', module=object(), shifts=[])), 'shifts'),
    (lambda: MODELS.build(dict(type='ExponentialMovingAverage', model=None, momentum=0)),
     'momentum must be a number in (0, 1), got 0'),
])
def test_argument_checks_of_what_a_config_builds_are_user_errors(build, says):
    """Hooks, optimizers, schedulers, TTA, EMA: a bad value in the config is a ConfigError,
    which the command lines show as one line (a ValueError or KeyError too, as before)."""
    with pytest.raises(cli.user_errors()) as info:
        build()
    assert isinstance(info.value, ConfigError) and says in str(info.value), info.value


def test_missing_files_are_one_line_errors(config, tmp_path, capsys):
    assert train_cli.main(['no_such_config']) == 2
    assert 'Shipped configs: ' in _one_line_error(capsys)
    assert test_cli.main([str(config), str(tmp_path / 'nope.npz')]) == 2
    assert f"checkpoint not found: {tmp_path / 'nope.npz'}" in _one_line_error(capsys)
    not_a_ckpt = tmp_path / 'junk.npz'
    not_a_ckpt.write_bytes(b'not a zip file')
    assert test_cli.main([str(not_a_ckpt)]) == 2
    assert 'junk.npz is not a minicls checkpoint: a checkpoint is a .npz (zip) file, this one ' \
        "starts with b'not '" in _one_line_error(capsys)
    text = tmp_path / 'notes.png'
    text.write_text('not an image')
    from minicls.apis import get_model
    weights = get_model(str(config)).state_dict()   # weights, but no config in meta
    ckpt = save_checkpoint(dict(state_dict=weights, meta={}), str(tmp_path / 'w.npz'))
    assert predict_cli.main([str(text), '--config', str(config), '--checkpoint', ckpt]) == 2
    assert 'Cannot read image file' in _one_line_error(capsys)
    assert predict_cli.main([str(text), '--checkpoint', ckpt]) == 2
    assert 'holds no config (meta["cfg"]): give the config file as well' in \
        _one_line_error(capsys)
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(\n')
    assert train_cli.main([str(bad)]) == 2
    assert f"error: {bad}, line 1: '(' was never closed" in _one_line_error(capsys)
    assert plot_curves.main([str(tmp_path / 'nowhere')]) == 2
    assert 'no scalars.json' in _one_line_error(capsys)
    assert confusion_matrix.main([str(tmp_path / 'nowhere.json')]) == 2
    _one_line_error(capsys)


def test_debug_shows_the_traceback(config, tmp_path, monkeypatch):
    argv = [str(config), '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_epoch=1']
    with pytest.raises(ConfigKeyError, match='max_epoch'):
        train_cli.main(argv + ['--debug'])
    monkeypatch.setenv('MINICLS_DEBUG', '1')
    with pytest.raises(ConfigKeyError, match='max_epoch'):
        train_cli.main(argv)


def test_bugs_keep_their_traceback():
    @cli.command_line
    def broken(argv):
        return {}['x'] if argv else 1 / 0   # a plain KeyError / ZeroDivisionError: a bug

    with pytest.raises(ZeroDivisionError):
        broken([])
    with pytest.raises(KeyError):
        broken(['a'])


@pytest.mark.parametrize('module', [train_cli, test_cli, predict_cli])
def test_help_lists_configs_and_examples_and_explains_every_option(module, monkeypatch,
                                                                   capsys):
    parsers = []

    def spy(*args, **kwargs):
        parsers.append(cli.make_parser(*args, **kwargs))
        return parsers[-1]
    monkeypatch.setattr(module, 'make_parser', spy)
    with pytest.raises(SystemExit) as info:
        module.main(['--help'])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert 'examples:' in out and f'python -m minicls.{module.__name__.split(".")[-1]}' in out
    assert 'cpu/resnet_small_cpu_cifar10' in out and 'quickstart/mnist_quickstart' in out
    actions = [a for a in parsers[0]._actions if not isinstance(a, argparse._HelpAction)]
    assert actions and all(a.help for a in actions), [a.dest for a in actions if not a.help]


def test_python_m_minicls_lists_the_commands(capsys):
    from minicls.__main__ import main
    assert main() == 0
    out = capsys.readouterr().out
    for command in ('minicls.train', 'minicls.test', 'minicls.predict',
                    'minicls.tools.confusion_matrix', 'minicls.tools.plot_curves'):
        assert f'python -m {command}' in out
    assert 'resnet_small_cpu_cifar10' in out
