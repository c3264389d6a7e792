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


# ---------------------------------------------------------------- nn.MultiheadAttention

def _mha_pair(torch, *args, **kwargs):
    """(minicls MHA, torch MHA with the same weights, loaded through torch's state_dict)."""
    ours = minicls.nn.MultiheadAttention(*args, **kwargs).double()
    theirs = torch.nn.MultiheadAttention(*args, **kwargs).double()
    with torch.no_grad():                        # non-zero biases, so that they are tested
        for p in theirs.parameters():
            p.normal_()
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd), 'state_dict keys differ from torch'
    ours.load_state_dict({k: v.numpy() for k, v in sd.items()})
    return ours, theirs


MHA_CASES = [
    (dict(), dict(), (5, 2, 8), 7),
    (dict(batch_first=True), dict(need_weights=False), (2, 5, 8), 5),
    (dict(bias=False, batch_first=True), dict(average_attn_weights=False, bool_attn_mask=True,
                                                key_padding=True),
     (2, 4, 8), 6),
    (dict(), dict(key_padding=True, need_weights=False), (4, 3, 8), 6),
    (dict(), dict(float_attn_mask=True), (4, 3, 8), 6),
    (dict(), dict(), (5, 8), 7),                                            # unbatched
]


@pytest.mark.parametrize('layer_kwargs, call, q_shape, source', MHA_CASES)
def test_multihead_attention_matches_torch(layer_kwargs, call, q_shape, source):
    torch = pytest.importorskip('torch')
    ours, theirs = _mha_pair(torch, 8, 2, **layer_kwargs)
    rng = np.random.default_rng(0)
    batch_first = layer_kwargs.get('batch_first', False)
    n = None if len(q_shape) == 2 else q_shape[0 if batch_first else 1]
    length = q_shape[1 if batch_first and n else 0]
    kv_shape = list(q_shape)
    kv_shape[1 if batch_first and n else 0] = source
    arrays = [rng.standard_normal(s) for s in (q_shape, kv_shape, kv_shape)]
    kwargs_m, kwargs_t = {}, {}
    if call.pop('key_padding', False):
        pad = np.zeros((n, source), dtype=bool)
        pad[0, -2:] = True
        kwargs_m['key_padding_mask'], kwargs_t['key_padding_mask'] = (minicls.tensor(pad),
                                                                      torch.tensor(pad))
    if call.pop('bool_attn_mask', False):
        mask = rng.random((length, source)) > 0.7
        mask[:, 0] = False                        # every query keeps a key: no 0/0 rows
        kwargs_m['attn_mask'], kwargs_t['attn_mask'] = minicls.tensor(mask), torch.tensor(mask)
    if call.pop('float_attn_mask', False):
        mask = rng.standard_normal((n * 2, length, source))
        kwargs_m['attn_mask'], kwargs_t['attn_mask'] = minicls.tensor(mask), torch.tensor(mask)
    kwargs_m.update(call)
    kwargs_t.update(call)
    xs_m = [minicls.tensor(a, requires_grad=True) for a in arrays]
    xs_t = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_m, w_m = ours(*xs_m, **kwargs_m)
    out_t, w_t = theirs(*xs_t, **kwargs_t)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    assert (w_m is None) == (w_t is None)
    if w_t is not None:
        np.testing.assert_allclose(w_m.numpy(), w_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out_m.shape)
    loss_m = (out_m * minicls.tensor(g)).sum() + (0 if w_m is None else w_m.sum() * 0.5)
    loss_t = (out_t * torch.tensor(g)).sum() + (0 if w_t is None else w_t.sum() * 0.5)
    loss_m.backward()
    loss_t.backward()
    for a, b in zip(xs_m, xs_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.numpy(), p.grad.numpy(), rtol=1e-9,
                                   atol=1e-10, err_msg=f'grad of {name}')


def test_multihead_attention_init_and_dropout():
    minicls.manual_seed(0)
    m = minicls.nn.MultiheadAttention(8, 4, dropout=0.5, batch_first=True)
    assert m.head_dim == 2 and float(abs(m.in_proj_bias).sum()) == 0
    bound = np.sqrt(6 / (8 + 24))                 # xavier_uniform_ on (24, 8)
    assert float(abs(m.in_proj_weight).max()) <= bound
    x = minicls.randn(2, 3, 8)
    m.eval()
    a, _ = m(x, x, x)
    b, _ = m(x, x, x, need_weights=False)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)    # eval: no dropout, paths agree
    m.train()
    c, _ = m(x, x, x, need_weights=False)
    assert not np.allclose(a.numpy(), c.numpy())


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match='multiple of num_heads'):
        minicls.nn.MultiheadAttention(6, 4)
    with pytest.raises(NotImplementedError, match='add_bias_kv'):
        minicls.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    with pytest.raises(NotImplementedError, match='kdim and vdim'):
        minicls.nn.MultiheadAttention(8, 2, kdim=4)
    m = minicls.nn.MultiheadAttention(8, 2)
    x = minicls.randn(3, 2, 8)
    with pytest.raises(ValueError, match='key_padding_mask should be'):
        m(x, x, x, key_padding_mask=minicls.zeros(3, 2, dtype=minicls.bool))
    with pytest.raises(ValueError, match='attn_mask should be'):
        m(x, x, x, attn_mask=minicls.zeros(2, 3, dtype=minicls.bool))
    with pytest.raises(ValueError, match=r'expected query \(L, N, 8\)'):
        m(x, minicls.randn(3, 2, 4), x)
    with pytest.raises(RuntimeError, match='Need attn_mask'):
        m(x, x, x, is_causal=True)
