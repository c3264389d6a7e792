"""ResNet family: state_dict keys and parameter counts of the reference, shapes, variants,
init scheme, frozen_stages / norm_eval really freezing, drop_path."""
import numpy as np
import pytest

import minicls
from minicls.models import ImageClassifier
from minicls.models.backbones import ResNet, ResNet_CIFAR, ResNetV1c, ResNetV1d
from minicls.registry import MODELS

BN = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']


def reference_r18_keys():
    """The 122 keys of mmpretrain's resnet18_8xb16_cifar10 (facts §12), in order."""
    keys = ['backbone.conv1.weight'] + [f'backbone.bn1.{k}' for k in BN]
    for stage in range(1, 5):
        for block in range(2):
            p = f'backbone.layer{stage}.{block}.'
            keys += [p + 'conv1.weight'] + [p + f'bn1.{k}' for k in BN]
            keys += [p + 'conv2.weight'] + [p + f'bn2.{k}' for k in BN]
            if stage > 1 and block == 0:
                keys += [p + 'downsample.0.weight'] + [p + f'downsample.1.{k}' for k in BN]
    return keys + ['head.fc.weight', 'head.fc.bias']


def cifar18_classifier(**head):
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ),
                      style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0), **head)))


def test_cifar18_keys_shapes_and_parameter_count():
    model = cifar18_classifier()
    sd = model.state_dict()
    assert list(sd) == reference_r18_keys() and len(sd) == 122
    assert sd['backbone.conv1.weight'].shape == (64, 3, 3, 3)
    assert sd['backbone.layer2.0.downsample.0.weight'].shape == (128, 64, 1, 1)
    assert sd['head.fc.weight'].shape == (10, 512)
    assert sum(p.numel() for p in model.parameters()) == 11_173_962
    assert not hasattr(model.backbone, 'maxpool')
    assert model.backbone.res_layers == ['layer1', 'layer2', 'layer3', 'layer4']
    assert model.backbone.norm1 is model.backbone.bn1 and model.backbone.feat_dim == 512


def test_stage_shapes_and_variants():
    x = minicls.randn(1, 3, 32, 32)
    with minicls.no_grad():
        outs = ResNet(18, out_indices=(0, 1, 2, 3)).eval()(x)
        assert [o.shape for o in outs] == [(1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2),
                                           (1, 512, 1, 1)]
        outs = ResNet_CIFAR(18, out_indices=(0, 3)).eval()(x)
        assert [o.shape for o in outs] == [(1, 64, 32, 32), (1, 512, 4, 4)]
    r50 = ResNet(50)
    assert r50.feat_dim == 2048 and 'layer1.0.downsample.0.weight' in r50.state_dict()
    assert sum(p.numel() for p in r50.parameters()) == 23_508_032  # torchvision minus fc
    v1c = ResNetV1c(depth=50).state_dict()
    assert 'stem.0.conv.weight' in v1c and 'stem.2.bn.weight' in v1c and 'conv1.weight' \
        not in v1c
    v1d = ResNetV1d(depth=50).state_dict()
    assert 'layer2.0.downsample.1.weight' in v1d and 'layer2.0.downsample.2.running_var' in v1d
    with pytest.raises(KeyError, match='invalid depth 20 for resnet'):
        ResNet(20)
    with pytest.raises(AssertionError, match='do not support deep_stem'):
        ResNet_CIFAR(18, deep_stem=True)
    caffe = ResNet(50, style='caffe').layer2[0]
    assert caffe.conv1.stride == (2, 2) or caffe.conv1.stride == 2


def test_init_weights_scheme():
    minicls.manual_seed(0)
    model = cifar18_classifier()
    model.init_weights()
    bb = model.backbone
    w = bb.layer3[0].conv1.weight.numpy()             # Kaiming fan_out: std sqrt(2 / (256*9))
    assert w.std() == pytest.approx(np.sqrt(2 / (256 * 9)), rel=0.05)
    assert np.all(bb.bn1.weight.numpy() == 1) and np.all(bb.bn1.bias.numpy() == 0)
    assert np.all(bb.layer1[0].bn2.weight.numpy() == 0)   # zero_init_residual
    assert np.all(bb.layer1[0].bn1.weight.numpy() == 1)
    fc = model.head.fc
    assert fc.weight.numpy().std() == pytest.approx(0.01, rel=0.1)
    assert np.all(fc.bias.numpy() == 0)
    with pytest.warns(UserWarning, match='more than once'):
        model.init_weights()


def _train_step(model, x, labels):
    model.train()
    model.zero_grad()
    model(x, labels, mode='loss')['loss'].backward()


def test_frozen_stages_really_freeze():
    minicls.manual_seed(0)
    model = cifar18_classifier()
    model.backbone.frozen_stages = 2
    model.backbone._freeze_stages()
    model.train()
    before = model.state_dict()
    _train_step(model, minicls.randn(2, 3, 32, 32), minicls.tensor([1, 2]))
    after = model.state_dict()
    for name, p in model.named_parameters():
        frozen = name.startswith(('backbone.conv1', 'backbone.bn1', 'backbone.layer1',
                                  'backbone.layer2'))
        assert (p.grad is None) == frozen, name
        assert p.requires_grad != frozen
    assert not model.backbone.layer2.training and model.backbone.layer3.training
    for key in before:  # frozen BNs keep their running statistics
        if 'running' in key or 'num_batches' in key:
            frozen = key.startswith(('backbone.bn1', 'backbone.layer1', 'backbone.layer2'))
            assert np.array_equal(before[key], after[key]) == frozen, key


def test_norm_eval_keeps_statistics_but_trains_affine():
    model = cifar18_classifier()
    model.backbone.norm_eval = True
    model.train()
    assert model.training and not model.backbone.bn1.training
    before = model.state_dict()
    _train_step(model, minicls.randn(2, 3, 32, 32), minicls.tensor([1, 2]))
    after = model.state_dict()
    for key in before:
        if 'running' in key or 'num_batches' in key:
            assert np.array_equal(before[key], after[key]), key
    assert model.backbone.bn1.weight.grad is not None


def test_drop_path_rates_and_with_cp():
    model = ResNet(18, drop_path_rate=0.3, with_cp=True)
    rates = [b.drop_path.drop_prob for name in model.res_layers for b in getattr(model, name)
             if hasattr(b.drop_path, 'drop_prob')]
    np.testing.assert_allclose(rates, np.linspace(0, 0.3, 8)[1:], rtol=1e-6)
    assert type(model.layer1[0].drop_path).__name__ == 'Identity'   # rate 0
    x = minicls.randn(4, 64, 8, 8)
    block = model.layer4[1]
    block.eval()
    with minicls.no_grad():
        assert np.allclose(block.drop_path(x).numpy(), x.numpy())
        block.train()
        y = block.drop_path(x).numpy()
    kept = np.array([np.allclose(y[i], x.numpy()[i] / 0.7, rtol=1e-5) for i in range(4)])
    dropped = np.array([np.all(y[i] == 0) for i in range(4)])
    assert np.all(kept | dropped)


def test_classifier_is_imageclassifier():
    assert isinstance(cifar18_classifier(), ImageClassifier)
