"""``MultiheadAttention``: torch's layer (packed ``in_proj_weight``), built on
``F.scaled_dot_product_attention``.

For queries (N, L, E) and keys/values (N, S, E), with H heads of D = E / H features::

    q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v    (W_q, W_k, W_v stacked
                                                                        in in_proj_weight)
    split each into H heads: (N, L, E) -> (N, H, L, D)
    heads = softmax(q k^T / sqrt(D) + mask) v                          (N, H, L, D)
    out = concat(heads) W_o^T + b_o                                    (N, L, E), out_proj
"""
import math

from ...creation import empty, full_like, zeros_like
from ... import functional as _F
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import Linear
from .module import Module


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention`` (same state_dict keys:
    ``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``).

    Args:
        embed_dim (int): E, the features of queries, keys and values.
        num_heads (int): H; E must be divisible by H (each head has E / H features).
        dropout (float): Dropout on the attention weights (training only). Default: 0.0.
        bias (bool): Biases in the input and output projections. Default: True.
        add_bias_kv (bool): Only False is supported.
        add_zero_attn (bool): Only False is supported.
        kdim (int, optional): Only None or ``embed_dim`` is supported.
        vdim (int, optional): Only None or ``embed_dim`` is supported.
        batch_first (bool): Inputs and outputs (N, L, E) instead of (L, N, E).
            Default: False, as PyTorch.

    Shapes (batch_first=False): query (L, N, E), key and value (S, N, E), or (L, E) and
    (S, E) unbatched; output (L, N, E) and, when ``need_weights``, the attention weights
    (N, L, S) (averaged over heads) or (N, H, L, S).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f'MultiheadAttention: embed_dim ({embed_dim}) must be a positive '
                             f'multiple of num_heads ({num_heads})')
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError('MultiheadAttention: add_bias_kv and add_zero_attn are '
                                      'not supported')
        if kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError('MultiheadAttention: kdim and vdim must equal embed_dim '
                                      '(project keys and values to embed_dim first)')
        self.embed_dim, self.kdim, self.vdim = embed_dim, embed_dim, embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = Parameter(empty(3 * embed_dim)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: xavier-uniform input projection, zero biases (out_proj.weight keeps
        Linear's default init)."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``. Returns (output, weights or None).

        Args:
            key_padding_mask: (N, S) (or (S,) unbatched): True (or -inf) marks a key to
                ignore; a float mask is added to the logits.
            need_weights: also return the attention weights (computed step by step, as
                PyTorch, instead of with the fused ``F.scaled_dot_product_attention``).
            attn_mask: (L, S) or (N*H, L, S): True (or -inf) forbids a query-key pair; a
                float mask is added. NB: True means *masked* here, the opposite of
                ``F.scaled_dot_product_attention``'s boolean masks (PyTorch's convention).
            average_attn_weights: average the returned weights over the heads.
            is_causal: a hint that ``attn_mask`` is the causal mask; it needs ``attn_mask``.
        """
        if is_causal and attn_mask is None:
            raise RuntimeError('MultiheadAttention: Need attn_mask if specifying the is_causal '
                               'hint (pass the causal mask as attn_mask)')
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = self._attend(query, key, value, key_padding_mask, need_weights,
                                    attn_mask, average_attn_weights)
        if unbatched:
            return out.squeeze(1), (weights.squeeze(0) if weights is not None else None)
        return (out.transpose(0, 1) if self.batch_first else out), weights

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask, average):
        """The computation on (L, N, E) inputs: (output (L, N, E), weights or None)."""
        (length, n, e), source, h = query.shape, key.shape[0], self.num_heads
        if key.shape != value.shape or key.shape[1:] != (n, e) or query.shape[2] != e:
            raise ValueError(f'MultiheadAttention: expected query (L, N, {e}) and key, value '
                             f'(S, N, {e}) (or batch first), got query {tuple(query.shape)}, '
                             f'key {tuple(key.shape)}, value {tuple(value.shape)}')
        w = self.in_proj_weight
        b = self.in_proj_bias
        q, k, v = (F.linear(x, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
                   for i, x in enumerate((query, key, value)))

        def heads(x, size):                    # (size, N, E) -> (N, H, size, D)
            return x.reshape(size, n, h, self.head_dim).permute(1, 2, 0, 3)
        q, k, v = heads(q, length), heads(k, source), heads(v, source)
        mask = _merge_masks(attn_mask, key_padding_mask, n, h, length, source, q.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            logits = q @ k.transpose(-2, -1) * (1 / math.sqrt(self.head_dim))
            weights = _F.softmax(logits if mask is None else logits + mask, dim=-1)
            weights = F.dropout(weights, p) if p > 0 else weights
            heads_out = weights @ v
            weights = weights.mean(1) if average else weights
        else:
            heads_out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(heads_out.permute(2, 0, 1, 3).reshape(length, n, e))
        return out, weights


def _merge_masks(attn_mask, key_padding_mask, n, h, length, source, dtype):
    """Both masks as one additive float mask broadcastable to (N, H, L, S), or None.
    Boolean masks become -inf where True (masked) and 0 elsewhere."""
    merged = None
    if attn_mask is not None:
        if tuple(attn_mask.shape) not in ((length, source), (n * h, length, source)):
            raise ValueError(f'MultiheadAttention: attn_mask should be ({length}, {source}) or '
                             f'({n * h}, {length}, {source}), got {tuple(attn_mask.shape)}')
        merged = _additive(attn_mask, dtype).reshape(-1, h if attn_mask.ndim == 3 else 1,
                                                     length, source)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n, source):
            raise ValueError(f'MultiheadAttention: key_padding_mask should be ({n}, {source}) '
                             f'(batch, keys), got {tuple(key_padding_mask.shape)}')
        padding = _additive(key_padding_mask, dtype).reshape(n, 1, 1, source)
        merged = padding if merged is None else merged + padding
    return merged


def _additive(mask, dtype):
    """A boolean mask (True = masked) as 0 / -inf; a float mask as it is, in ``dtype``."""
    if mask.dtype == bool:
        return _F.where(mask, full_like(mask, -math.inf, dtype=dtype),
                        zeros_like(mask, dtype=dtype))
    return mask.to(dtype)
