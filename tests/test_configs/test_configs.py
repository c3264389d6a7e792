"""The configs shipped in minicls/configs: they load, build, and hold mmpretrain's values."""
import glob
import os
import time

import numpy as np
import pytest

import minicls
from minicls.config import Config
from minicls.configs import CONFIG_ROOT, QUICKSTART, find_config, list_configs
from minicls.registry import MODELS

RECIPES = sorted(p for p in glob.glob(os.path.join(CONFIG_ROOT, '*', '*.py'))
                 if '_base_' not in p and not p.endswith('__init__.py'))


def test_the_expected_recipes_ship():
    names = set(list_configs())
    assert {'resnet18_8xb16_cifar10', 'resnet34_8xb16_cifar10', 'resnet50_8xb16_cifar10',
            'resnet50_8xb16_cifar100', 'mnist_quickstart', 'resnet_small_cpu_cifar10',
            'resnet18_folder_dataset'} <= names
    assert find_config('resnet18_8xb16_cifar10').endswith('resnet/resnet18_8xb16_cifar10.py')
    with pytest.raises(FileNotFoundError, match='Shipped configs'):
        find_config('resnet19_cifar')


@pytest.mark.parametrize('path', RECIPES, ids=[os.path.basename(p) for p in RECIPES])
def test_every_recipe_loads_and_has_the_runner_keys(path):
    cfg = Config.fromfile(path)
    for key in ('model', 'train_dataloader', 'val_dataloader', 'val_evaluator', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'default_hooks'):
        assert key in cfg, key
    assert cfg.train_cfg.by_epoch and cfg.train_cfg.max_epochs > 0


@pytest.mark.parametrize('name,channels', [('resnet18_8xb16_cifar10', 512),
                                           ('resnet_small_cpu_cifar10', 128),
                                           ('mnist_quickstart', 64)])
def test_models_build(name, channels):
    cfg = Config.fromfile(find_config(name))
    model_cfg = cfg.model.to_dict()
    model_cfg['data_preprocessor'] = cfg.data_preprocessor.to_dict()
    model = MODELS.build(model_cfg)
    assert model.head.fc.weight.shape[1] == channels


def test_mmpretrain_values():
    r18 = Config.fromfile(find_config('resnet18_8xb16_cifar10'))
    assert r18.model.backbone.type == 'ResNet_CIFAR' and r18.model.backbone.depth == 18
    assert r18.train_dataloader.batch_size == 16 and r18.train_cfg.max_epochs == 200
    assert r18.param_scheduler.milestones == [100, 150]
    assert r18.optim_wrapper.optimizer.weight_decay == 0.0001
    assert r18.data_preprocessor.mean == [125.307, 122.961, 113.8575]
    c100 = Config.fromfile(find_config('resnet50_8xb16_cifar100'))
    assert c100.model.head.num_classes == 100 and c100.model.head.in_channels == 2048
    assert c100.optim_wrapper.optimizer.weight_decay == 0.0005
    assert c100.optim_wrapper.optimizer.lr == 0.1  # merged from the base schedule
    assert c100.param_scheduler.milestones == [60, 120, 160] and c100.param_scheduler.gamma == 0.2
    assert c100.train_dataloader.dataset.type == 'CIFAR100'


def test_quickstart_data_is_embedded_mnist():
    from minicls.datasets import build_dataloader
    cfg = Config.fromfile(QUICKSTART)
    loader = build_dataloader(cfg.train_dataloader.to_dict(), seed=0)
    batch = next(iter(loader))
    assert batch['inputs'].shape == (128, 1, 28, 28) and batch['inputs'].dtype == np.uint8
    assert len(loader.dataset) == 12000


@pytest.mark.slow
def test_quickstart_reaches_98_percent(tmp_path):
    """`python -m minicls.train` (no config) end to end: >= 98% top-1 on the MNIST test split."""
    from minicls import train
    start = time.time()
    assert train.main(['--work-dir', str(tmp_path)]) == 0
    from minicls.tools.plot_curves import load_scalars
    _, val = load_scalars(str(tmp_path))
    print(f'quickstart: {val[-1]["accuracy/top1"]:.2f}% in {time.time() - start:.0f} s')
    assert val[-1]['accuracy/top1'] >= 98.0


def _build(name):
    cfg = Config.fromfile(find_config(name))
    model_cfg = cfg.model.to_dict()
    model_cfg['data_preprocessor'] = cfg.data_preprocessor.to_dict()
    return cfg, MODELS.build(model_cfg)


def test_vit_and_mobilenet_v2_configs_as_mmpretrain():
    vit = Config.fromfile(find_config('vit-base-p16_64xb64_in1k'))
    assert vit.model.backbone.arch == 'b' and vit.model.head.hidden_dim == 3072
    assert vit.optim_wrapper.optimizer.lr == 0.003 and vit.optim_wrapper.clip_grad.max_norm == 1
    assert vit.optim_wrapper.paramwise_cfg.custom_keys['.pos_embed'].decay_mult == 0
    mnv2 = Config.fromfile(find_config('mobilenet-v2_8xb32_in1k'))
    assert mnv2.model.backbone.type == 'MobileNetV2' and mnv2.model.head.in_channels == 1280
    assert mnv2.param_scheduler.gamma == 0.98 and mnv2.train_cfg.max_epochs == 300


def test_cpu_vit_recipe_has_no_decay_on_tokens_norms_biases():
    from minicls.engine.optim import build_optim_wrapper
    cfg, model = _build('vit_small_cpu_cifar10')
    assert model(minicls.zeros(2, 3, 32, 32), mode='tensor').shape == (2, 10)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper.to_dict())
    decay = {id(p): g['weight_decay'] for g in wrapper.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        no_decay = name.endswith(('cls_token', 'pos_embed', '.bias')) or '.ln' in name
        assert (decay[id(param)] == 0) == no_decay, name
    _, mnv2 = _build('mobilenet_v2_cpu_cifar10')
    assert mnv2(minicls.zeros(2, 3, 32, 32), mode='tensor').shape == (2, 10)
