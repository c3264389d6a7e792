"""WhiteningInitHook and patch_whitening_weight: whitened patches have identity covariance."""
import logging
import types

import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.engine.hooks import WhiteningInitHook
from minicls.engine.hooks.whitening_hook import patch_whitening_weight


def patches_of(images, k):
    n, c = images.shape[:2]
    w = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(2, 3))
    return w.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k)


def correlated_images(seed=0, n=64):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 1, 9, 9))
    noise = [rng.normal(size=base.shape) for _ in range(2)]
    # correlated channels, one with an offset
    return np.concatenate([base, 0.5 * base + noise[0], 2 + 0.1 * base + 0.3 * noise[1]], axis=1)


@pytest.mark.parametrize('k', [1, 2, 3])
def test_whitened_patches_have_identity_covariance(k):
    images = correlated_images()
    weight = patch_whitening_weight(images, k, eps=0.0)
    d = 3 * k * k
    assert weight.shape == (2 * d, 3, k, k) and weight.dtype == np.float32
    np.testing.assert_array_equal(weight[d:], -weight[:d])             # filters, then negatives
    out = patches_of(images, k) @ weight[:d].reshape(d, -1).astype(np.float64).T
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(d), atol=2e-4)
    # the conv with these weights computes the same numbers
    conv = nn.Conv2d(3, 2 * d, k, bias=False)
    conv.weight.data = weight
    y = conv(minicls.tensor(images.astype(np.float32))).numpy()
    flat = y[:, :d].transpose(0, 2, 3, 1).reshape(-1, d)
    np.testing.assert_allclose(flat, out, rtol=1e-3, atol=1e-3)


def test_eps_limits_the_gain_and_order_is_by_variance():
    images = correlated_images()
    w0 = patch_whitening_weight(images, 2, eps=0.0)
    w1 = patch_whitening_weight(images, 2, eps=1.0)
    norms0, norms1 = [np.linalg.norm(w.reshape(24, -1), axis=1)[:12] for w in (w0, w1)]
    assert np.all(norms1 < norms0)
    assert np.all(np.diff(norms0) >= -1e-6)   # largest variance (smallest gain) first


def test_too_small_images():
    with pytest.raises(ValueError, match='no 3x3 patches'):
        patch_whitening_weight(np.zeros((1, 3, 2, 2)), 3)


class ToyData:
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {'inputs': self.images[i], 'gt_label': 0}


def toy_runner(images, **extra):
    model = types.SimpleNamespace(
        whiten=nn.Conv2d(3, 24, 2),
        data_preprocessor=lambda batch, training=False: {
            'inputs': minicls.tensor(batch['inputs'].astype(np.float32) / 255 - 0.5)})
    model.named_modules = lambda: [('backbone.whiten', model.whiten)]
    loader = types.SimpleNamespace(dataset=ToyData(images))
    runner = types.SimpleNamespace(model=model, train_dataloader=loader, iter=0, cfg={},
                                   logger=logging.getLogger('test_whitening'))
    for key, value in extra.items():
        setattr(runner, key, value)
    return runner


def test_hook_reads_the_pipeline_output_through_the_preprocessor():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 3, 8, 8), dtype=np.uint8)
    runner = toy_runner(images)
    WhiteningInitHook(num_images=10).before_train(runner)
    expected = patch_whitening_weight(images[:10].astype(np.float32) / 255 - 0.5, 2, 5e-4)
    np.testing.assert_allclose(runner.model.whiten.weight.numpy(), expected, rtol=1e-5)


def test_hook_keeps_checkpoint_weights_and_checks_the_layer():
    images = np.zeros((4, 3, 8, 8), dtype=np.uint8)
    for runner in (toy_runner(images, iter=5), toy_runner(images, cfg={'load_from': 'x.npz'})):
        before = runner.model.whiten.weight.numpy().copy()
        WhiteningInitHook().before_train(runner)
        np.testing.assert_array_equal(runner.model.whiten.weight.numpy(), before)
    with pytest.raises(KeyError, match="no conv layer 'backbone.stem'"):
        WhiteningInitHook(layer='backbone.stem').before_train(toy_runner(images))
    with pytest.raises(ValueError, match='num_images'):
        WhiteningInitHook(num_images=0)


def test_every_rank_takes_rank_0s_filters(monkeypatch):
    """The conv is frozen: no gradient all-reduce would ever bring ranks that computed
    slightly different filters (other BLAS, other machines) back together."""
    from minicls import distributed as dist
    sent = []

    def broadcast(tensor, src=0):     # what rank 1 sees: rank 0's filters arrive
        sent.append(src)
        tensor.data[...] = 7.0
        return tensor
    monkeypatch.setattr(dist, 'broadcast', broadcast)
    runner = toy_runner(np.random.default_rng(2).integers(0, 256, (4, 3, 8, 8), np.uint8))
    WhiteningInitHook().before_train(runner)
    assert sent == [0]
    np.testing.assert_array_equal(runner.model.whiten.weight.numpy(), 7.0)
