"""F.scaled_dot_product_attention beyond the op table: large logits, fully masked rows,
dropout, what backward keeps, and the argument errors."""
import numpy as np
import pytest

import minicls
import minicls.nn.functional as F


def _qkv(shape_q=(2, 3, 4, 8), s=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(shape_q) * scale
    k = rng.standard_normal(shape_q[:-2] + (s, shape_q[-1])) * scale
    v = rng.standard_normal(shape_q[:-2] + (s, 3))
    return [minicls.tensor(a, requires_grad=True) for a in (q, k, v)]


def _by_hand(q, k, v, mask=None):
    """softmax(q k^T / sqrt(E) + mask) v in float64 NumPy, shifting by the row max."""
    a = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + (0 if mask is None else mask)
    e = np.exp(a - a.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


def test_large_logits_stay_finite_and_exact():
    q, k, v = _qkv(scale=40.0)          # logits of several hundred: e^x would overflow
    y = F.scaled_dot_product_attention(q, k, v)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(q.grad.numpy()).all()
    np.testing.assert_allclose(y.numpy(), _by_hand(q.numpy(), k.numpy(), v.numpy()), atol=1e-12)


def test_fully_masked_query_gives_zeros_as_torch():
    q, k, v = _qkv()
    mask = np.ones((4, 5), dtype=bool)
    mask[1] = False
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=minicls.tensor(mask))
    y.sum().backward()
    assert not np.isnan(y.numpy()).any()
    np.testing.assert_array_equal(y.numpy()[:, :, 1], 0)
    np.testing.assert_array_equal(q.grad.numpy()[:, :, 1], 0)
    np.testing.assert_allclose(y.numpy()[:, :, 0], _by_hand(q.numpy(), k.numpy(),
                                                            v.numpy())[:, :, 0], atol=1e-12)


def test_bool_mask_equals_additive_minus_inf_mask():
    q, k, v = _qkv()
    allowed = np.random.default_rng(3).random((4, 5)) > 0.3
    additive = np.where(allowed, 0.0, -np.inf)
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=minicls.tensor(allowed))
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=minicls.tensor(additive))
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)


def test_backward_keeps_the_probabilities_not_the_logits():
    q, k, v = _qkv()
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=minicls.tensor(np.zeros((4, 5))))
    saved = y.grad_fn.saved_tensors
    assert [a.shape for a in saved] == [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 3), (2, 3, 4, 5)]
    np.testing.assert_allclose(saved[3].sum(-1), 1)    # the probabilities: rows sum to 1


def test_dropout_uses_minicls_generator_and_the_same_mask_in_backward():
    q, k, v = _qkv(shape_q=(2, 2, 6, 4), s=6)
    minicls.manual_seed(0)
    y1 = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    minicls.manual_seed(0)
    y2 = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    assert not np.allclose(y1.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())
    keep = y1.grad_fn.keep                       # scaled 0 / 1/(1-p) mask
    assert set(np.unique(keep)) == {0.0, 2.0}
    # v's gradient is (P * keep)^T dy: with dy = 1 it is the column sums of the dropped weights
    y1.sum().backward()
    p = y1.grad_fn.saved_tensors[3] if not y1.grad_fn.freed else None
    assert p is None                             # released after backward
    probs = F.scaled_dot_product_attention(q, k, v)
    expected = (probs.grad_fn.saved_tensors[3] * keep).sum(-2)[..., None].repeat(3, -1)
    np.testing.assert_allclose(v.grad.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize('kwargs, message', [
    (dict(dropout_p=1.0), 'dropout_p must be in'),
    (dict(attn_mask=np.zeros((4, 5), dtype=np.int64)), 'attn_mask must be bool'),
    (dict(attn_mask=np.zeros((3, 5), dtype=bool)), 'does not broadcast'),
    (dict(attn_mask=np.zeros((4, 5), dtype=bool), is_causal=True), 'should not be set'),
])
def test_attention_argument_errors(kwargs, message):
    q, k, v = _qkv()
    if 'attn_mask' in kwargs:
        kwargs['attn_mask'] = minicls.tensor(kwargs['attn_mask'])
    with pytest.raises((ValueError, TypeError, RuntimeError), match=message):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_attention_shape_errors():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r'key \(\.\.\., S, E\)'):
        F.scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(TypeError, match='one floating dtype'):
        F.scaled_dot_product_attention(q, k.float(), v)
