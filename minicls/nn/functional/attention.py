"""Scaled dot-product attention (``F.scaled_dot_product_attention``), as one ``Function``.

For queries q (..., L, E), keys k (..., S, E) and values v (..., S, Ev)::

    A = q k^T * scale + M          (..., L, S)  the logits; M is the additive mask (0 or -inf)
    P = softmax(A) along S         (..., L, S)  each query's attention over the keys
    y = P v                        (..., L, Ev)

Backward, with dy the gradient of y::

    dv = P^T dy
    dP = dy v^T
    dA = P * (dP - sum_S(dP * P))                  (the softmax's backward)
    dq = dA k * scale,   dk = dA^T q * scale,   dM = dA

so backward needs q, k, v and P, but not the logits A: only P is kept, one (..., L, S) array.
With dropout, P is replaced by P * keep / (1 - p) in y (keep a random 0/1 mask), and dP is
multiplied by the same scaled mask before the softmax's backward.
"""
import math

import numpy as np

from ... import backend
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...parallel import matmul
from ...random import generator


def _sdpa(lib, q, k, v, **kw):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, **kw)


class ScaledDotProductAttention(Function):
    """y = softmax(q k^T * scale + M) v over the last two axes, batch axes broadcast.

    Inputs q (..., L, E), k (..., S, E), v (..., S, Ev) and, optionally, a float additive mask
    (broadcastable to (..., L, S)), which then gets a gradient too. A boolean mask or the causal
    mask arrives as ``allowed`` (True = may attend). Output (..., L, Ev). A query that may
    attend to no key at all gets y = 0 (and zero gradients), as in PyTorch.
    """
    cases = [
        OpCase(lambda lib, q, k, v: _sdpa(lib, q, k, v), [(2, 3, 4, 5), (2, 3, 6, 5),
               (2, 3, 6, 2)], name='4d'),
        OpCase(lambda lib, q, k, v: _sdpa(lib, q, k, v, scale=0.7),
               [(4, 3), (5, 3), (5, 6)], name='2d-scale'),
        OpCase(lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True),
               [(2, 5, 4), (2, 5, 4), (2, 5, 3)], name='causal'),
        OpCase(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m > 0),
               [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), (3, 5)],
               domain=[(-2, 2)] * 3 + [(-0.6, 1)], grad=(0, 1, 2), name='bool-mask'),
        OpCase(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m),
               [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), (2, 1, 3, 5)], name='float-mask-grad'),
        OpCase(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m > 0),
               [(3, 4, 2), (1, 4, 2), (4, 3), (3, 1, 4)], domain=[(-2, 2)] * 3 + [(-0.5, 1)],
               grad=(0, 1, 2), name='bool-mask-broadcast-batch'),
    ]

    @staticmethod
    def forward(ctx, q, k, v, *mask, scale, allowed=None, keep=None):
        """``mask``: the float additive mask, if any; ``allowed``: a boolean mask array, if any;
        ``keep``: the dropout mask already scaled by 1/(1-p), if any."""
        xp = get_array_module(q)
        logits = matmul(q, xp.swapaxes(k, -1, -2)) * scale         # (..., L, S)
        if mask:
            logits = logits + mask[0]
        if allowed is not None:
            logits = xp.where(allowed, logits, -xp.inf)
        p = _softmax(logits, xp)
        del logits
        y = matmul(p if keep is None else p * keep, v)
        if ctx.needs_input_grad:
            ctx.scale, ctx.keep = scale, keep
            ctx.save_for_backward(q, k, v, p)
        return y

    @staticmethod
    def backward(ctx, gy):
        q, k, v, p = ctx.saved_tensors
        xp = get_array_module(gy)
        need = ctx.needs_input_grad
        dropped = p if ctx.keep is None else p * ctx.keep
        gv = matmul(xp.swapaxes(dropped, -1, -2), gy) if need[2] else None
        del dropped
        gp = matmul(gy, xp.swapaxes(v, -1, -2))                      # (..., L, S)
        if ctx.keep is not None:
            gp *= ctx.keep
        ga = p * (gp - (gp * p).sum(axis=-1, keepdims=True))
        del gp
        gq = matmul(ga, k) * ctx.scale if need[0] else None
        gk = matmul(xp.swapaxes(ga, -1, -2), q) * ctx.scale if need[1] else None
        if len(need) == 4:
            return gq, gk, gv, (ga if need[3] else None)
        return gq, gk, gv


def _softmax(logits, xp):
    """softmax along the last axis, shifted by the row max so that e^x never overflows; a row
    that is all -inf (no key allowed) gives zeros instead of 0/0."""
    top = logits.max(axis=-1, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    e = xp.exp(logits - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / xp.where(total > 0, total, 1)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """softmax(query key^T * scale + mask) value, as ``torch.nn.functional``'s.

    Args:
        query: (..., L, E) Tensor (typically (N, heads, L, E)).
        key: (..., S, E) Tensor.
        value: (..., S, Ev) Tensor. The batch axes ``...`` of the three broadcast.
        attn_mask: None, a boolean Tensor (True = this query may attend to this key), or a
            float Tensor added to the logits (-inf forbids); broadcastable to (..., L, S).
            A float mask that requires grad gets a gradient.
        dropout_p: probability of dropping an attention weight (the others are scaled by
            1/(1-p)); drawn from minicls's generator whenever > 0, as in PyTorch (pass 0 in
            eval mode).
        is_causal: query i may attend only to keys j <= i (the top-left triangle); not
            together with ``attn_mask`` (fold the triangle into your mask instead).
        scale: multiplies q k^T; default 1/sqrt(E).

    Returns:
        (..., L, Ev) Tensor.
    """
    _check_attention_args(query, key, value, attn_mask, dropout_p)
    if is_causal and attn_mask is not None:
        raise RuntimeError('scaled_dot_product_attention: Explicit attn_mask should not be set '
                           'when is_causal=True (combine the causal triangle into attn_mask)')
    xp = get_array_module(query.data)
    length, source = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    inputs, allowed = (query, key, value), None
    if attn_mask is not None and attn_mask.dtype == np.bool_:
        allowed = attn_mask.data
    elif attn_mask is not None:
        inputs += (attn_mask.to(query.dtype) if attn_mask.dtype != query.dtype else attn_mask,)
    if is_causal:
        allowed = xp.tril(xp.ones((length, source), dtype=bool))
    keep = None
    if dropout_p > 0:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2],
                                    tuple(attn_mask.shape[:-2]) if attn_mask is not None
                                    else ()) + (length, source)
        keep = (generator().random(shape, dtype=np.float32) >= dropout_p).astype(query.dtype)
        keep = backend.to_device(keep / (1 - dropout_p), query.device).astype(query.dtype)
    return ScaledDotProductAttention.apply(*inputs, scale=scale, allowed=allowed, keep=keep)


def _check_attention_args(query, key, value, attn_mask, dropout_p):
    shapes = f'query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}'
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ValueError(f'scaled_dot_product_attention: query, key and value need at least 2 '
                         f'dims (..., length, features), got {shapes}')
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f'scaled_dot_product_attention: expected query (..., L, E), key '
                         f'(..., S, E) and value (..., S, Ev), got {shapes}')
    if not (query.dtype == key.dtype == value.dtype) or not query.is_floating_point():
        raise TypeError(f'scaled_dot_product_attention: expected query, key and value of one '
                        f'floating dtype, got {query.dtype}, {key.dtype} and {value.dtype}')
    if attn_mask is not None:
        if attn_mask.dtype != np.bool_ and not attn_mask.is_floating_point():
            raise TypeError(f'scaled_dot_product_attention: attn_mask must be bool (True = '
                            f'attend) or float (added to the logits), got {attn_mask.dtype}')
        target = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (query.shape[-2],
                                                                          key.shape[-2])
        try:
            np.broadcast_shapes(tuple(attn_mask.shape), target)
        except ValueError:
            raise ValueError(f'scaled_dot_product_attention: attn_mask of shape '
                             f'{tuple(attn_mask.shape)} does not broadcast to the attention '
                             f'weights (..., L, S) = {target}') from None
    if not 0 <= dropout_p < 1:
        raise ValueError(f'scaled_dot_product_attention: dropout_p must be in [0, 1), got '
                         f'{dropout_p}')
