"""MobileNetV2 and InvertedResidual: mmpretrain's keys, sizes, arguments, errors, freezing and
a float64 gradcheck. Whole-model parity with mmpretrain is in test_mmpretrain_parity.py."""
import numpy as np
import pytest

import minicls
from minicls.autograd.gradcheck import gradcheck
from minicls.models import InvertedResidual, MobileNetV2
from minicls.models.backbones.mobilenet_v2 import make_divisible
from minicls.registry import MODELS


def classifier(widen_factor=1.0, num_classes=1000):
    return MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='MobileNetV2', widen_factor=widen_factor),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=1280)))


def test_parameter_count_and_keys_as_mmpretrain():
    model = classifier()
    assert sum(p.numel() for p in model.parameters()) == 3504872
    keys = list(model.state_dict())
    assert keys[:2] == ['backbone.conv1.conv.weight', 'backbone.conv1.bn.weight']
    for key in ('backbone.layer1.0.conv.0.conv.weight',   # expand_ratio 1: depthwise first
                'backbone.layer2.0.conv.0.conv.weight',   # 1x1 expansion
                'backbone.layer2.0.conv.1.conv.weight',   # depthwise
                'backbone.layer2.0.conv.2.bn.running_var',
                'backbone.conv2.conv.weight', 'head.fc.weight'):
        assert key in keys, key
    state = model.state_dict()
    assert state['backbone.layer2.0.conv.1.conv.weight'].shape == (96, 1, 3, 3)
    assert state['backbone.conv2.conv.weight'].shape == (1280, 320, 1, 1)


def test_widen_factor_and_out_indices():
    small = MobileNetV2(widen_factor=0.5, out_indices=(0, 6, 7))
    outs = small(minicls.randn(2, 3, 32, 32))
    assert [o.shape for o in outs] == [(2, 8, 16, 16), (2, 160, 1, 1), (2, 1280, 1, 1)]
    assert MobileNetV2(widen_factor=1.4).conv2.out_channels == 1792
    assert make_divisible(32 * 0.35, 8) == 16 and make_divisible(24 * 1.4, 8) == 32
    with pytest.raises(ValueError, match='out_indices'):
        MobileNetV2(out_indices=(8, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        MobileNetV2(frozen_stages=8)
    with pytest.raises(ValueError, match='stride'):
        InvertedResidual(8, 8, stride=3, expand_ratio=6)


def test_frozen_stages_and_norm_eval():
    net = MobileNetV2(widen_factor=0.25, frozen_stages=2, norm_eval=True)
    net.train()
    frozen = {n.split('.')[0] for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {'conv1', 'layer1', 'layer2'}
    assert not net.layer2.training and net.layer3.training
    assert not net.layer3[0].conv[0].bn.training  # norm_eval: every BN in eval mode


def test_inverted_residual_shortcut_and_gradcheck():
    block = InvertedResidual(4, 4, stride=1, expand_ratio=2)
    assert block.use_res_connect and len(block.conv) == 3
    assert not InvertedResidual(4, 8, stride=1, expand_ratio=2).use_res_connect
    assert len(InvertedResidual(4, 4, stride=2, expand_ratio=1).conv) == 2
    params = list(block.parameters())
    for p in params:
        p.data = p.data.astype(np.float64)
    for name, buf in block.named_buffers():
        buf.data = buf.data.astype(np.float64) if buf.data.dtype.kind == 'f' else buf.data
    x = minicls.tensor(np.random.default_rng(0).standard_normal((2, 4, 5, 5)), requires_grad=True)
    assert gradcheck(lambda x, *p: block(x), [x] + params)


def test_mobilenet_v2_trains_a_step():
    model = classifier(widen_factor=0.25, num_classes=3)
    model.init_weights()
    loss = model.head.loss_module(model(minicls.randn(4, 3, 32, 32), mode='tensor'),
                                  minicls.tensor(np.array([0, 1, 2, 0])), avg_factor=4)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
