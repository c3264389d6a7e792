"""VisionTransformer and its pieces (mmcv's PatchEmbed/FFN, mmpretrain's MultiheadAttention):
arguments, keys, shapes, init, freezing, float64 gradchecks and torch parity of attention.
Whole-model parity with mmpretrain is in test_mmpretrain_parity.py."""
import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.autograd.gradcheck import gradcheck
from minicls.cnn import FFN, PatchEmbed
from minicls.models import VisionTransformer
from minicls.models.backbones.vision_transformer import TransformerEncoderLayer
from minicls.models.utils import MultiheadAttention, resize_pos_embed
from minicls.registry import MODELS

TINY = dict(embed_dims=12, num_layers=3, num_heads=3, feedforward_channels=20)


def tiny_vit(**kwargs):
    return VisionTransformer(arch=TINY, img_size=8, patch_size=4, **kwargs)


def x64(*shape, seed=0):
    return minicls.tensor(np.random.default_rng(seed).standard_normal(shape),
                          requires_grad=True)


def test_arch_zoo_and_custom_arch():
    assert VisionTransformer.arch_zoo['deit-tiny'] == dict(
        embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768)
    assert VisionTransformer.arch_zoo['b']['feedforward_channels'] == 3072
    for name in ('deit-small', 'deit-base', 'small', 'base', 'large', 'huge'):
        assert name in VisionTransformer.arch_zoo
    with pytest.raises(KeyError, match='not in default archs'):
        VisionTransformer(arch='gigantic')
    with pytest.raises(ValueError, match='Custom arch needs a dict'):
        VisionTransformer(arch=dict(embed_dims=8))


def test_state_dict_keys_are_mmpretrains():
    keys = list(tiny_vit().state_dict())
    assert keys[:4] == ['cls_token', 'pos_embed', 'patch_embed.projection.weight',
                        'patch_embed.projection.bias']
    for key in ('layers.0.ln1.weight', 'layers.0.attn.qkv.weight', 'layers.0.attn.qkv.bias',
                'layers.0.attn.proj.weight', 'layers.0.ln2.bias', 'layers.0.ffn.layers.0.0.weight',
                'layers.0.ffn.layers.1.weight', 'layers.2.ffn.layers.1.bias', 'ln1.weight'):
        assert key in keys, key
    assert tiny_vit().pos_embed.shape == (1, 1 + 4, 12)


def test_out_types_shapes():
    x = minicls.randn(2, 3, 8, 8)
    assert tiny_vit()(x)[0].shape == (2, 12)
    assert tiny_vit(out_type='featmap')(x)[0].shape == (2, 12, 2, 2)
    assert tiny_vit(out_type='avg_featmap')(x)[0].shape == (2, 12)
    assert tiny_vit(out_type='raw')(x)[0].shape == (2, 5, 12)
    assert tiny_vit(out_type='raw', with_cls_token=False)(x)[0].shape == (2, 4, 12)
    assert len(tiny_vit(out_indices=(0, -1))(x)) == 2
    with pytest.raises(ValueError, match='with_cls_token must be True'):
        tiny_vit(with_cls_token=False)
    with pytest.raises(ValueError, match='Unsupported `out_type`'):
        tiny_vit(out_type='mean')
    with pytest.raises(ValueError, match='Invalid out_indices'):
        tiny_vit(out_indices=7)


def test_drop_path_rises_linearly_and_layer_cfgs_override():
    vit = tiny_vit(drop_path_rate=0.2, layer_cfgs=dict(num_fcs=3))
    rates = [layer.attn.out_drop.drop_prob for layer in vit.layers]
    assert np.allclose(rates, [0.0, 0.1, 0.2])
    assert [layer.ffn.dropout_layer.drop_prob for layer in vit.layers] == rates
    assert vit.layers[0].ffn.num_fcs == 3


def test_init_as_mmpretrain():
    minicls.manual_seed(0)
    vit = VisionTransformer(arch=dict(TINY, embed_dims=48, num_heads=4), img_size=32,
                            patch_size=4)
    vit.init_weights()
    pos = vit.pos_embed.numpy()
    assert 0.015 < pos.std() < 0.025 and np.abs(pos).max() <= 2  # truncated N(0, 0.02^2)
    assert not vit.cls_token.numpy().any()
    fc = vit.layers[0].ffn.layers[0][0]
    bound = np.sqrt(6 / (fc.in_features + fc.out_features))  # Xavier uniform
    assert np.abs(fc.weight.numpy()).max() <= bound and fc.weight.numpy().std() > bound / 3
    assert np.abs(fc.bias.numpy()).max() < 1e-5


def test_frozen_stages():
    vit = tiny_vit(frozen_stages=3)
    frozen = {n for n, p in vit.named_parameters() if not p.requires_grad}
    assert {'cls_token', 'pos_embed', 'patch_embed.projection.weight', 'layers.2.ffn.layers.1.bias',
            'ln1.weight'} <= frozen
    assert not any(p.requires_grad for p in vit.parameters())
    partly = tiny_vit(frozen_stages=1)
    assert not partly.layers[0].attn.qkv.weight.requires_grad
    assert partly.layers[1].attn.qkv.weight.requires_grad and partly.ln1.weight.requires_grad


def test_pos_embed_resized_at_forward_and_on_load():
    vit = tiny_vit(out_type='featmap')
    assert vit(minicls.randn(1, 3, 12, 12))[0].shape == (1, 12, 3, 3)  # 3x3 tokens, not 2x2
    big = VisionTransformer(arch=TINY, img_size=16, patch_size=4)  # 4x4 grid
    state = tiny_vit().state_dict()
    big.load_state_dict(state)
    assert big.pos_embed.shape == (1, 17, 12)
    np.testing.assert_array_equal(big.pos_embed.numpy()[:, 0], state['pos_embed'][:, 0])
    with pytest.raises(ValueError, match="doesn't match the expected"):
        resize_pos_embed(minicls.zeros(1, 6, 2), (2, 2), (3, 3))


def test_no_cls_token_model_drops_the_checkpoints_cls_entry():
    plain = tiny_vit(with_cls_token=False, out_type='raw')
    plain.load_state_dict({k: v for k, v in tiny_vit().state_dict().items()
                           if k != 'cls_token'})
    assert plain.pos_embed.shape == (1, 4, 12)


def _params(module):
    params = list(module.parameters())
    for p in params:
        p.data = p.data.astype(np.float64)
    return params


def test_gradcheck_attention_ffn_patch_embed_encoder_layer():
    minicls.manual_seed(0)
    attn = MultiheadAttention(6, 2)
    assert gradcheck(lambda x, *p: attn(x), [x64(2, 3, 6)] + _params(attn))
    ffn = FFN(6, 8, act_cfg=dict(type='GELU'))
    assert gradcheck(lambda x, *p: ffn(x), [x64(2, 3, 6)] + _params(ffn))
    embed = PatchEmbed(2, 6, kernel_size=2, stride=2)
    assert gradcheck(lambda x, *p: embed(x)[0], [x64(1, 2, 3, 4)] + _params(embed))
    layer = TransformerEncoderLayer(6, 2, 8, layer_scale_init_value=0.5)
    layer.init_weights()
    assert gradcheck(lambda x, *p: layer(x), [x64(2, 3, 6)] + _params(layer))


def test_patch_embed_corner_padding_and_sizes():
    embed = PatchEmbed(3, 4, kernel_size=4, stride=4, input_size=30)
    assert embed.init_input_size == (32, 32) and embed.init_out_size == (8, 8)
    tokens, hw = embed(minicls.randn(1, 3, 30, 30))
    assert tokens.shape == (1, 64, 4) and hw == (8, 8)
    with pytest.raises(ValueError, match="'same' or 'corner'"):
        PatchEmbed(padding='middle')


def test_ffn_and_attention_errors():
    with pytest.raises(ValueError, match='num_fcs'):
        FFN(4, 8, num_fcs=1)
    with pytest.raises(ValueError, match='divisible by num_heads'):
        MultiheadAttention(10, 3)


def test_multihead_attention_matches_torch():
    torch = pytest.importorskip('torch')
    attn = MultiheadAttention(8, 2, qk_scale=None)
    for p in attn.parameters():
        p.data = p.data.astype(np.float64)
    x = np.random.default_rng(1).standard_normal((2, 5, 8))
    ours = attn(minicls.tensor(x)).numpy()
    w = {k: torch.from_numpy(v) for k, v in attn.state_dict().items()}
    q, k, v = (torch.from_numpy(x) @ w['qkv.weight'].T + w['qkv.bias']).reshape(
        2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    expected = out.transpose(1, 2).reshape(2, 5, 8) @ w['proj.weight'].T + w['proj.bias']
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_classifier_builds_from_config_with_tanh_head():
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='VisionTransformer', arch=TINY, img_size=8,
                                              patch_size=4),
        head=dict(type='VisionTransformerClsHead', num_classes=3, in_channels=12,
                  hidden_dim=5)))
    model.init_weights()
    assert model(minicls.randn(2, 3, 8, 8)).shape == (2, 3)
    assert 'head.layers.pre_logits.weight' in model.state_dict()
