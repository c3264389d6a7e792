"""Whole-model float64 parity against mmpretrain itself: ViT (cls_token and avg_featmap, tanh
head) and MobileNetV2.

Both frameworks build the same config; mmpretrain's weights (perturbed so that no zero-init
hides a path) are copied into minicls by ``load_state_dict`` with ``strict=True`` (the keys
must match exactly). Compared: logits, loss, the gradient of every parameter, and for
MobileNetV2 the BN running statistics and eval-mode logits; within 1e-8 relative to the
largest reference value of each tensor. Some MobileNetV2 gradients are zero in exact
arithmetic (the bias of a BN whose output only feeds another conv + BN, which removes any
constant shift): both frameworks give rounding noise of ~1e-13 there, so each gradient's
scale is floored at 1e-6 of the largest gradient of the model.

Opt-in: mmpretrain 1.2.0 pulls its own torch, so it lives in a separate environment and
these tests skip elsewhere. Run them with that environment's interpreter::

    python -m venv venv-mm && venv-mm/bin/pip install torchvision==0.29.1 mmengine==0.10.7 \
        mmcv-lite==2.2.0 mmpretrain==1.2.0 pytest
    PYTHONPATH=$PWD venv-mm/bin/python -m pytest -q tests/test_models/test_mmpretrain_parity.py
"""
import numpy as np
import pytest

import minicls
from minicls.registry import MODELS

pytest.importorskip('mmpretrain')
torch = pytest.importorskip('torch')
from mmpretrain.registry import MODELS as MM_MODELS  # noqa: E402

TOL = 1e-8

VIT_ARCH = dict(embed_dims=24, num_layers=2, num_heads=3, feedforward_channels=48)


def vit_cfg(out_type):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', arch=VIT_ARCH, img_size=16, patch_size=4,
                      out_type=out_type, drop_rate=0., drop_path_rate=0.),
        neck=None,
        head=dict(type='VisionTransformerClsHead', num_classes=5, in_channels=24, hidden_dim=16,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


MNV2_CFG = dict(
    type='ImageClassifier',
    backbone=dict(type='MobileNetV2', widen_factor=0.25),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=5, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def rel_err(ours, ref, floor=1e-300):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), floor))


def build_pair(cfg, seed=0):
    """mmpretrain's model (float64, weights perturbed) and minicls's with the same weights."""
    torch.manual_seed(seed)
    ref = MM_MODELS.build(cfg).double()
    ref.init_weights()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ours = MODELS.build(cfg).to(minicls.float64)
    ref_state = {k: v.numpy() for k, v in ref.state_dict().items()}
    assert list(ours.state_dict()) == list(ref_state)  # same keys, same order
    ours.load_state_dict(ref_state, strict=True)
    return ref, ours


def step_both(ref, ours, size, seed=1):
    """One forward + loss + backward in train mode; returns the two losses and logits."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3, size, size))
    labels = np.array([0, 3, 1, 4])
    ref.train()
    ours.train()
    ref_logits = ref(torch.from_numpy(x), mode='tensor')
    ref_loss = ref.head.loss_module(ref_logits, torch.from_numpy(labels),
                                    avg_factor=len(labels))
    ref_loss.backward()
    our_logits = ours(minicls.tensor(x), mode='tensor')
    our_loss = ours.head.loss_module(our_logits, minicls.tensor(labels), avg_factor=len(labels))
    our_loss.backward()
    return (ref_logits.detach().numpy(), ref_loss.item()), (our_logits.numpy(), our_loss.item())


def check_step(ref, ours, size):
    (ref_logits, ref_loss), (our_logits, our_loss) = step_both(ref, ours, size)
    assert rel_err(our_logits, ref_logits) < TOL
    assert abs(our_loss - ref_loss) / abs(ref_loss) < TOL
    ref_grads = {n: p.grad.numpy() for n, p in ref.named_parameters()}
    our_grads = {n: p.grad.numpy() for n, p in ours.named_parameters()}
    assert set(our_grads) == set(ref_grads)
    floor = 1e-6 * max(np.abs(g).max() for g in ref_grads.values())
    errors = {n: rel_err(our_grads[n], ref_grads[n], floor) for n in ref_grads}
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, (worst, errors[worst])


@pytest.mark.parametrize('out_type', ['cls_token', 'avg_featmap'])
def test_vit_matches_mmpretrain(out_type):
    ref, ours = build_pair(vit_cfg(out_type))
    check_step(ref, ours, 16)


def test_vit_pos_embed_resized_as_mmpretrain():
    """A checkpoint at 16 px loaded into a 24 px model (pre-load hook), and 16 px weights
    run on 24 px inputs (resize at forward): both as mmpretrain. mmpretrain interpolates the
    table in float32 (then casts back), minicls in the table's dtype, so here the agreement
    is float32's, 1e-6."""
    ref16, _ = build_pair(vit_cfg('cls_token'))
    state = {k: v.numpy() for k, v in ref16.state_dict().items()}
    cfg24 = vit_cfg('cls_token')
    cfg24['backbone']['img_size'] = 24
    ref24 = MM_MODELS.build(cfg24).double()
    ref24.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    ours24 = MODELS.build(cfg24).to(minicls.float64)
    ours24.load_state_dict(state)
    assert ours24.backbone.pos_embed.shape == (1, 37, 24)
    assert rel_err(ours24.backbone.pos_embed.numpy(),
                   ref24.backbone.pos_embed.detach().numpy()) < 1e-6
    x = np.random.default_rng(2).standard_normal((2, 3, 24, 24))
    ref16.eval()
    ours16 = MODELS.build(vit_cfg('cls_token')).to(minicls.float64)
    ours16.load_state_dict(state)
    ours16.eval()
    with torch.no_grad():
        expected = ref16(torch.from_numpy(x), mode='tensor').numpy()
    assert rel_err(ours16(minicls.tensor(x), mode='tensor').numpy(), expected) < 1e-6


def test_mobilenet_v2_matches_mmpretrain():
    ref, ours = build_pair(MNV2_CFG)
    check_step(ref, ours, 32)
    ref_buffers = dict(ref.named_buffers())
    for name, buf in ours.named_buffers():
        assert rel_err(buf.numpy(), ref_buffers[name].numpy()) < TOL, name
    ref.eval()
    ours.eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 32, 32))
    with torch.no_grad():
        expected = ref(torch.from_numpy(x), mode='tensor').numpy()
    assert rel_err(ours(minicls.tensor(x), mode='tensor').numpy(), expected) < TOL


def test_full_size_state_dicts_have_mmpretrain_keys_and_shapes():
    """deit-tiny and MobileNetV2 1.0 with 1000 classes: every key and shape as mmpretrain."""
    for cfg in (dict(type='ImageClassifier', backbone=dict(type='VisionTransformer',
                                                             arch='deit-tiny'),
                     head=dict(type='VisionTransformerClsHead', num_classes=1000,
                               in_channels=192)),
                dict(MNV2_CFG, backbone=dict(type='MobileNetV2', widen_factor=1.0),
                     head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280))):
        ref = {k: tuple(v.shape) for k, v in MM_MODELS.build(cfg).state_dict().items()}
        ours = {k: tuple(np.shape(v)) for k, v in MODELS.build(cfg).state_dict().items()}
        assert list(ours.items()) == list(ref.items())
