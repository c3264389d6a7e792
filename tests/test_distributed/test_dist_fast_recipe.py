"""The fast CIFAR-10 recipe (whitening, EMA, PreciseBN) trained on 2 ranks: ``runner.model`` is
then a ``DistributedDataParallel``, and its hooks must work on the model inside it.

One run of the tiny recipe of tests/test_configs/test_fast_cifar_config.py (4 images per rank
and step, 2 steps, PreciseBN on one batch per rank); each rank writes its state after the last
epoch (tests/test_distributed/fast_recipe_probe.py)."""
import importlib.util

import numpy as np
import pytest

import minicls
from minicls.engine.checkpoint import load_checkpoint
from minicls.registry import MODELS
from mpi_helpers import ROOT, mpiexec, needs_mpi

_spec = importlib.util.spec_from_file_location(
    'fast_cifar_recipe_tests', ROOT / 'tests' / 'test_configs' / 'test_fast_cifar_config.py')
recipe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recipe)
tiny_folders = recipe.tiny_folders   # the fixture: 32x32 images, 16 to train, 8 to validate

KEY = 'backbone.groups.0.layers.0.weight'


@pytest.fixture(scope='module')
def run(tiny_folders, tmp_path_factory):
    """(checkpoint of the last epoch, [rank 0's state, rank 1's state], config, output)."""
    root = tmp_path_factory.mktemp('dist_fast_recipe')
    cfg = recipe.tiny_cfg(tiny_folders, root / 'work')
    cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = 1
    cfg.train_dataloader.batch_size = 4       # per rank: 2 steps of 2 x 4 images
    cfg.custom_hooks[1].begin_epoch = 1       # EMAHook: 2 steps, the second one averages
    cfg.custom_hooks[2].num_samples = 8       # PreciseBNHook: one batch of 4 on each rank
    cfg.custom_hooks.append(dict(type='RankStateProbeHook', out=str(root)))
    cfg.custom_imports = dict(imports=['fast_recipe_probe'], allow_failed_imports=False)
    cfg.dump(str(root / 'tiny.py'))
    result = mpiexec('-m', 'minicls.train', 'tiny.py', '--launcher', 'mpi', cwd=root,
                     timeout=120)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    ranks = [dict(np.load(root / f'rank{r}.npz')) for r in (0, 1)]
    ckpt = load_checkpoint(str(root / 'work' / 'epoch_1.npz'))
    return ckpt, ranks, cfg, result.stdout + result.stderr


@needs_mpi
def test_whitening_is_set_alike_on_both_ranks(run):
    ckpt, ranks, _, _ = run
    whiten = ckpt['state_dict']['backbone.whiten.weight']
    np.testing.assert_array_equal(whiten[12:], -whiten[:12])    # set by WhiteningInitHook
    for rank in ranks:
        np.testing.assert_array_equal(rank['state/backbone.whiten.weight'], whiten)


@needs_mpi
def test_the_checkpoint_holds_the_average_and_ema_state_dict_the_training_weights(run):
    ckpt, ranks, _, _ = run
    model_state, ema = ckpt['state_dict'], ckpt['ema_state_dict']
    assert ema['steps'] == 2                                   # 2 iterations x 1 epoch
    assert {f'module.{k}' for k in model_state} <= set(ema)   # the model's names, no DDP's
    assert not [k for k in ema if k.startswith('module.module.')]
    train_weights = ranks[0][f'state/{KEY}']
    np.testing.assert_array_equal(ranks[1][f'state/{KEY}'], train_weights)
    np.testing.assert_array_equal(ema[f'module.{KEY}'], train_weights)   # swapped in the file
    assert not np.array_equal(model_state[KEY], train_weights)          # the average


@needs_mpi
def test_bn_statistics_are_the_average_over_both_ranks_batches(run):
    """After PreciseBNHook both ranks hold the same statistics (those they validate with): the
    mean over the two ranks of the statistics of their batch, under the averaged weights."""
    ckpt, ranks, cfg, output = run
    buffers = [k for k in ckpt['state_dict'] if k.endswith(('running_mean', 'running_var'))]
    assert len(buffers) == 12
    for key in buffers:   # the same on both ranks, and those are the ones saved
        np.testing.assert_array_equal(ranks[1][f'state/{key}'], ranks[0][f'state/{key}'])
        np.testing.assert_array_equal(ckpt['state_dict'][key], ranks[0][f'state/{key}'])
    model = MODELS.build(cfg.model.to_dict())
    model.load_state_dict(ckpt['state_dict'])      # its parameters: the averaged weights
    model.train()
    for bn in [m for m in model.modules() if hasattr(m, 'running_mean')]:
        bn.momentum = 1.0                  # the running statistics become the batch's
    per_rank = []
    with minicls.no_grad():
        for rank in ranks:
            model(minicls.tensor(rank['inputs']), mode='tensor')
            per_rank.append({k: v.copy() for k, v in model.state_dict().items()})
    assert not np.allclose(per_rank[0][buffers[0]], per_rank[1][buffers[0]])   # they differ
    for key in buffers:
        np.testing.assert_allclose(ranks[0][f'state/{key}'],
                                   (per_rank[0][key] + per_rank[1][key]) / 2,
                                   rtol=1e-5, atol=1e-6)
    assert 'PreciseBNHook: BN statistics of 6 layers recomputed on 8 training images ' \
           '(averaged weights)' in output                # 4 on each rank
