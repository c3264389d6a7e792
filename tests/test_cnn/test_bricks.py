"""mmcv-style builders: build_conv_layer / build_norm_layer / build_activation_layer,
ConvModule, and the layer types they register in MODELS."""
import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.cnn import (ConvModule, build_activation_layer, build_conv_layer, build_norm_layer,
                         infer_abbr)
from minicls.registry import MODELS


# -- build_conv_layer ------------------------------------------------------------------------------
def test_conv_none_means_conv2d_with_args_and_kwargs():
    conv = build_conv_layer(None, 3, 16, 3, stride=2, padding=1, bias=False)
    assert type(conv) is nn.Conv2d
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) \
        == (3, 16, (3, 3), (2, 2), (1, 1))
    assert conv.bias is None


def test_conv_types_and_extra_cfg_keys():
    assert type(build_conv_layer(dict(type='Conv'), 3, 4, 1)) is nn.Conv2d
    conv = build_conv_layer(dict(type='Conv2d', dilation=2), 3, 4, 3)
    assert conv.dilation == (2, 2)
    assert type(build_conv_layer(dict(type=nn.Conv2d), 3, 4, 1)) is nn.Conv2d  # a class


def test_conv_cfg_errors():
    with pytest.raises(TypeError, match='must be a dict'):
        build_conv_layer('Conv2d', 3, 4, 1)
    with pytest.raises(KeyError, match='"type"'):
        build_conv_layer(dict(kernel=3), 3, 4, 1)
    with pytest.raises(KeyError, match="Cannot find 'Conv3d'.*Conv2d"):
        build_conv_layer(dict(type='Conv3d'), 3, 4, 1)


# -- build_norm_layer ------------------------------------------------------------------------------
@pytest.mark.parametrize('cfg,postfix,name,cls', [
    (dict(type='BN'), 1, 'bn1', nn.BatchNorm2d),
    (dict(type='BN'), '', 'bn', nn.BatchNorm2d),
    (dict(type='BN2d'), 2, 'bn2', nn.BatchNorm2d),
    (dict(type='BN1d'), '', 'bn', nn.BatchNorm1d),
    (dict(type='SyncBN'), 3, 'bn3', nn.SyncBatchNorm),
    (dict(type='GN', num_groups=4), 1, 'gn1', nn.GroupNorm),
    (dict(type='LN'), '_a', 'ln_a', nn.LayerNorm),
])
def test_norm_names_and_classes(cfg, postfix, name, cls):
    built_name, layer = build_norm_layer(cfg, 64, postfix=postfix)
    assert built_name == name and type(layer) is cls
    assert layer.eps == 1e-5
    assert all(p.requires_grad for p in layer.parameters())


def test_norm_args_reach_the_layer_and_cfg_is_untouched():
    cfg = dict(type='BN', momentum=0.03, eps=1e-3, requires_grad=True)
    _, bn = build_norm_layer(cfg, 8)
    assert (bn.num_features, bn.momentum, bn.eps) == (8, 0.03, 1e-3)
    assert cfg == dict(type='BN', momentum=0.03, eps=1e-3, requires_grad=True)
    _, gn = build_norm_layer(dict(type='GN', num_groups=2), 6)
    assert (gn.num_groups, gn.num_channels) == (2, 6)
    _, ln = build_norm_layer(dict(type='LN'), 5)
    assert ln.normalized_shape == (5,)


def test_norm_requires_grad_false_freezes_the_params():
    _, bn = build_norm_layer(dict(type='BN', requires_grad=False), 4)
    assert [p.requires_grad for p in bn.parameters()] == [False, False]
    out = bn(minicls.randn(2, 4, 3, 3, requires_grad=True))
    out.sum().backward()
    assert bn.weight.grad is None


def test_norm_errors():
    with pytest.raises(TypeError, match='must be a dict'):
        build_norm_layer(None, 4)
    with pytest.raises(KeyError, match='"type"'):
        build_norm_layer(dict(eps=1.0), 4)
    with pytest.raises(KeyError, match='num_groups'):
        build_norm_layer(dict(type='GN'), 4)
    with pytest.raises(KeyError, match="Cannot find 'BatchNorm3d'.*BN, BN1d"):
        build_norm_layer(dict(type='BatchNorm3d'), 4)
    with pytest.raises(TypeError, match='postfix'):
        build_norm_layer(dict(type='BN'), 4, postfix=1.5)


def test_infer_abbr():
    class MyNorm(nn.BatchNorm2d):
        _abbr_ = 'mine'

    class FancyGroupThing(nn.Module):
        pass

    class Other(nn.Module):
        pass

    assert infer_abbr(MyNorm) == 'mine'
    assert infer_abbr(nn.BatchNorm1d) == 'bn' and infer_abbr(nn.GroupNorm) == 'gn'
    assert infer_abbr(nn.LayerNorm) == 'ln'
    assert infer_abbr(FancyGroupThing) == 'gn' and infer_abbr(Other) == 'norm_layer'
    assert build_norm_layer(dict(type=MyNorm), 3, postfix=1)[0] == 'mine1'
    with pytest.raises(TypeError):
        infer_abbr(nn.BatchNorm2d(3))


# -- build_activation_layer ------------------------------------------------------------------------
@pytest.mark.parametrize('cfg,cls', [(dict(type='ReLU'), nn.ReLU), (dict(type='Tanh'), nn.Tanh),
                                     (dict(type='Sigmoid'), nn.Sigmoid),
                                     (dict(type='GELU'), nn.GELU),
                                     (dict(type='ReLU', inplace=True), nn.ReLU),
                                     (dict(type='SiLU'), nn.SiLU), (dict(type='ReLU6'), nn.ReLU6),
                                     (dict(type='LeakyReLU', negative_slope=0.2), nn.LeakyReLU),
                                     (dict(type='Hardswish'), nn.Hardswish),
                                     (dict(type='HSwish'), nn.Hardswish),
                                     (dict(type='Hardsigmoid'), nn.Hardsigmoid)])
def test_activation(cfg, cls):
    assert type(build_activation_layer(cfg)) is cls


def test_activation_unknown_type():
    with pytest.raises(KeyError, match="Cannot find 'Swish'.*ReLU, Tanh"):
        build_activation_layer(dict(type='Swish'))


# -- ConvModule ------------------------------------------------------------------------------------
def test_conv_module_children_keys_and_bias_auto():
    m = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='BN'))
    assert [n for n, _ in m.named_children()] == ['conv', 'bn', 'activate']
    assert m.norm is m.bn and m.norm_name == 'bn'
    assert list(m.state_dict()) == ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean',
                                    'bn.running_var', 'bn.num_batches_tracked']
    assert m.conv.bias is None  # bias='auto' with a norm: no bias
    assert m.activate.inplace
    assert (m.in_channels, m.out_channels, m.kernel_size, m.padding) == (3, 8, (3, 3), (1, 1))
    plain = ConvModule(3, 8, 1, act_cfg=None)
    assert plain.conv.bias is not None and plain.norm is None
    assert [n for n, _ in plain.named_children()] == ['conv']


def test_conv_module_forward_is_conv_bn_relu():
    minicls.manual_seed(0)
    m = ConvModule(2, 4, 3, padding=1, norm_cfg=dict(type='BN'))
    x = minicls.randn(2, 2, 5, 5)
    expected = m.activate(m.bn(m.conv(x)))
    out = m(x)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    assert (out.numpy() >= 0).all()
    np.testing.assert_allclose(m(x, activate=False, norm=False).numpy(), m.conv(x).numpy())


def test_conv_module_init_is_mmcvs():
    minicls.manual_seed(0)
    m = ConvModule(64, 128, 3, bias=True, norm_cfg=dict(type='GN', num_groups=8))
    std = np.sqrt(2.0) / np.sqrt(128 * 9)  # kaiming normal, fan_out, relu
    assert m.conv.weight.numpy().std() == pytest.approx(std, rel=0.03)
    assert not m.conv.bias.numpy().any()
    assert (m.gn.weight.numpy() == 1).all() and not m.gn.bias.numpy().any()


def test_conv_module_order_and_gelu_without_inplace():
    m = ConvModule(4, 6, 1, norm_cfg=dict(type='BN'), act_cfg=dict(type='GELU'),
                   order=('norm', 'conv', 'act'))
    assert m.bn.num_features == 4  # norm before conv normalises the input channels
    assert type(m.activate) is nn.GELU
    assert m(minicls.randn(2, 4, 3, 3)).shape == (2, 6, 3, 3)
    with pytest.raises(ValueError, match='order'):
        ConvModule(4, 6, 1, order=('conv', 'act'))


# -- registry --------------------------------------------------------------------------------------
@pytest.mark.parametrize('name,cls', [('BN', nn.BatchNorm2d), ('BN1d', nn.BatchNorm1d),
                                      ('BN2d', nn.BatchNorm2d), ('SyncBN', nn.SyncBatchNorm),
                                      ('GN', nn.GroupNorm), ('LN', nn.LayerNorm),
                                      ('Conv', nn.Conv2d), ('Conv2d', nn.Conv2d),
                                      ('Linear', nn.Linear), ('ReLU', nn.ReLU),
                                      ('GELU', nn.GELU), ('MaxPool2d', nn.MaxPool2d),
                                      ('AdaptiveAvgPool2d', nn.AdaptiveAvgPool2d),
                                      ('Sequential', nn.Sequential), ('ConvModule', ConvModule)])
def test_registered_in_models(name, cls):
    assert MODELS.get(name) is cls


def test_models_build_and_list_to_sequential():
    fc = MODELS.build(dict(type='Linear', in_features=4, out_features=2))
    assert type(fc) is nn.Linear and fc.weight.shape == (2, 4)
    seq = MODELS.build([dict(type='Conv', in_channels=1, out_channels=2, kernel_size=1),
                        dict(type='ReLU')])
    assert type(seq) is nn.Sequential and [type(m) for m in seq] == [nn.Conv2d, nn.ReLU]


def test_torch_loss_classes_are_not_registered():
    # mmpretrain's own CrossEntropyLoss (minicls.models.losses) owns that name in MODELS
    assert MODELS.get('CrossEntropyLoss') is not nn.CrossEntropyLoss
