"""FastCifarNet: shapes, parameter count, frozen layers, MACs, config errors."""
import numpy as np
import pytest

import minicls
from minicls.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='FastCifarNet', **kwargs))


def conv_macs(model, hw=32):
    """Multiply-accumulates of the convs for one hw x hw image (the other layers are tiny)."""
    from minicls import nn
    macs, size = 0, hw
    size -= model.whiten.kernel_size[0] - 1
    macs += size * size * model.whiten.weight.numel()
    for group in model.groups:
        for layer in group.layers:
            if isinstance(layer, nn.MaxPool2d):
                size //= 2
            elif isinstance(layer, nn.Conv2d):
                macs += size * size * layer.weight.numel()
    return macs


def test_default_is_the_airbench94_shape():
    model = build(norm_cfg=dict(type='BN', momentum=0.4, eps=1e-12))
    convs = 24 * 12 + 24 * 64 * 9 + 64 * 64 * 9 + 64 * 256 * 9 + 3 * 256 * 256 * 9
    norms = 2 * (2 * 64 + 4 * 256)            # weight and bias of the 6 BNs
    assert sum(p.numel() for p in model.parameters()) == convs + 24 + norms
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert 'whiten.weight' in frozen and len(frozen) == 1 + 6   # whitening + BN scales
    # maps 31 (whiten), 31 -> 15, 15 -> 7, 7 -> 3: ~0.118 GMAC per image
    assert conv_macs(model) == (31 * 31 * 24 * 12 + 31 * 31 * 24 * 64 * 9 + 15 * 15 * 64 * 64 * 9
                                + 15 * 15 * 64 * 256 * 9 + 2 * 7 * 7 * 256 * 256 * 9
                                + 3 * 3 * 256 * 256 * 9) == 118_144_800
    x = minicls.randn(2, 3, 32, 32)
    (feat,) = model(x)
    assert feat.shape == (2, 256, 1, 1)
    bn = model.groups[0].layers[2]
    assert (bn.momentum, bn.eps) == (0.4, 1e-12)


def test_output_is_scaled_global_max():
    model = build(widths=(8, 16), depths=(1, 2), out_scale=0.5)
    model.eval()
    x = minicls.randn(2, 3, 32, 32)
    (feat,) = model(x)
    inner = model.groups(model.whiten_act(model.whiten(x))).numpy()
    np.testing.assert_allclose(feat.numpy()[..., 0, 0], 0.5 * inner.max(axis=(2, 3)), rtol=1e-6)
    assert [len([m for m in g.layers if type(m).__name__ == 'Conv2d']) for g in model.groups] \
        == [1, 2]


def test_norm_weight_true_trains_the_scale_and_gradients_flow():
    model = build(widths=(8,), depths=1, norm_weight=True)
    assert all(p.requires_grad for n, p in model.named_parameters() if n != 'whiten.weight')
    model(minicls.randn(2, 3, 32, 32))[0].sum().backward()
    assert model.whiten.weight.grad is None and model.whiten.bias.grad is not None
    assert model.groups[0].layers[0].weight.grad is not None


@pytest.mark.parametrize('kwargs, match', [
    (dict(whiten_channels=12), 'whiten_channels must be 2'),
    (dict(widths=(8, 8), depths=(1,)), 'one depth >= 1 per width'),
    (dict(depths=0), 'one depth >= 1 per width'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_dirac_init_makes_the_first_filters_identities():
    model = build(widths=(8, 16), depths=2)
    model.init_weights()
    convs = [m for m in model.groups.modules() if type(m).__name__ == 'Conv2d']
    assert [tuple(c.weight.shape[:2]) for c in convs] == [(8, 24), (8, 8), (16, 8), (16, 16)]
    for conv in convs:
        w = conv.weight.numpy()
        n = min(w.shape[:2])
        expected = np.zeros((n,) + w.shape[1:], np.float32)
        expected[range(n), range(n), 1, 1] = 1
        np.testing.assert_array_equal(w[:n], expected)
        assert w.shape[0] == n or np.abs(w[n:]).sum() > 0   # the others keep their init
    x = minicls.randn(1, 8, 5, 5)
    np.testing.assert_allclose(convs[1](x).numpy(), x.numpy(), atol=1e-6)   # 8 -> 8: identity
    plain = build(widths=(8, 16), depths=2, dirac_init=False)
    plain.init_weights()
    assert plain.groups[0].layers[4].weight.numpy()[0, 0, 1, 1] != 1
