"""Winograd minimal filtering F(2x2, 3x3) for stride-1, dilation-1, ungrouped 3x3 convs.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2015). A 2x2 block of
outputs of a 3x3 correlation reads a 4x4 tile ``d`` of the (padded) input. Instead of
2*2*9 = 36 multiplies it takes 16::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, all 4x4 but Y 2x2, g 3x3)

    B^T = [[1, 0, -1, 0],     G = [[1,    0,   0],     A^T = [[1, 1,  1,  0],
           [0, 1,  1, 0],          [1/2,  1/2, 1/2],          [0, 1, -1, -1]]
           [0, -1, 1, 0],          [1/2, -1/2, 1/2],
           [0, 1,  0, -1]]         [0,    0,   1]]

Summed over the input channels c, the element-wise product becomes, for each of the 16
positions (i, j) of the 4x4 tile, one matrix product over c::

    U[i, j] = (G g G^T)[i, j]    (O, C)      the filter transform, once per call
    V[i, j] = (B^T d B)[i, j]    (C, T)      the input transform of every tile (T = N * TH * TW)
    M[i, j] = U[i, j] @ V[i, j]  (O, T)      16 independent GEMMs
    y tile  = A^T M A            (O, T, 2, 2)

The GEMMs do 16 * O * C * T multiply-adds against im2col's 9 * O * C * 4T: 2.25x fewer. The
transforms are additions only (B and A hold 0 and +-1). Each tile overlaps its neighbours by
2 pixels, so tile rows start every 2 input rows: the tiles' row r is ``x_pad[2*t + r]``.

Shapes: x (N, C, H, W), w (O, C, 3, 3), padding (top, bottom, left, right);
OH = H + top + bottom - 2 (likewise OW); TH = ceil(OH / 2), TW = ceil(OW / 2) tiles.
The input is padded to 2*TH + 2 rows (an odd OH gets one extra zero row; its outputs are
dropped). Float32 error: the transforms only add, subtract and halve; measured, the error of
y and dW relative to ``sum |x| |w|`` over each output's window is 0.8-1.4e-7, as im2col's
(0.7-1.7e-7); the tests bound it by 1e-6. F(4x4, 3x3) (4x fewer multiplies, but transforms
with entries up to 8 and a larger error) is not implemented.

``winograd_conv2d_simple`` is the plain version (whole batch, one matrix product per
transform); ``winograd_conv2d`` is the same maths in cache-sized blocks of images on the
pool's threads, with the transforms written as the additions they are.
"""
import numpy as np

from ...backend import get_array_module
from ...parallel import get_num_threads, parallel_for

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
BLOCK_BYTES = 8 * 2**20


def supports(weight_shape, stride, dilation, groups):
    """True when F(2x2, 3x3) applies: a 3x3 kernel, stride 1, dilation 1, no groups."""
    return (tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1)


def _tiles(x_shape, padding):
    """(OH, OW), (TH, TW) and the padding to 2*TH + 2 by 2*TW + 2 (top, bottom, left, right)."""
    top, bottom, left, right = padding
    oh, ow = x_shape[2] + top + bottom - 2, x_shape[3] + left + right - 2
    th, tw = -(-oh // 2), -(-ow // 2)
    return (oh, ow), (th, tw), (top, 2 * th + 2 - x_shape[2] - top,
                                left, 2 * tw + 2 - x_shape[3] - left)


def _pad(x, padding):
    """Zero-pad the last two axes by (top, bottom, left, right), all >= 0 here."""
    xp = get_array_module(x)
    top, bottom, left, right = padding
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def filter_transform(w):
    """U = G w G^T, as (16, O, C): (i, j) row-major first, ready for the batched GEMM.

    One GEMM: U[(i, j), (o, c)] = sum_(k, l) (G kron G)[(i, j), (k, l)] * w[(o, c), (k, l)]."""
    xp = get_array_module(w)
    g2 = xp.asarray(np.kron(G, G), dtype=w.dtype)                       # (16, 9)
    u = xp.matmul(g2, w.reshape(-1, 9).T)                               # (16, O*C)
    return u.reshape(16, w.shape[0], w.shape[1])


def winograd_conv2d_simple(x, w, padding):
    """The conv of x (N, C, H, W) with w (O, C, 3, 3), stride 1: the maths above, plainly."""
    xp = get_array_module(x)
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding)
    n, c = x.shape[:2]
    o = w.shape[0]
    x_pad = _pad(x, pad)
    # d[n, c, t, s, r, q] = x_pad[n, c, 2t + r, 2s + q]: every 4x4 tile (a copy, 4x the input)
    d = xp.stack([xp.stack([x_pad[:, :, r:r + 2 * th:2, q:q + 2 * tw:2] for q in range(4)], -1)
                  for r in range(4)], -2)
    bt, at = xp.asarray(BT, x.dtype), xp.asarray(AT, x.dtype)
    v = xp.einsum('ir,nctsrq,jq->ijcnts', bt, d, bt).reshape(16, c, -1)     # (16, C, T)
    m = xp.matmul(filter_transform(w), v).reshape(4, 4, o, n, th, tw)       # (16, O, T)
    y = xp.einsum('ai,ijonts,bj->notasb', at, m, at)                        # (N, O, TH, 2, TW, 2)
    return y.reshape(n, o, 2 * th, 2 * tw)[:, :, :oh, :ow]


def winograd_grad_weight_simple(gy, x, padding):
    """dL/dw of ``winograd_conv2d_simple``, plainly: the adjoint of each of its steps."""
    xp = get_array_module(gy)
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding)
    n, c = x.shape[:2]
    x_pad = _pad(x, pad)
    d = xp.stack([xp.stack([x_pad[:, :, r:r + 2 * th:2, q:q + 2 * tw:2] for q in range(4)], -1)
                  for r in range(4)], -2)
    bt, at, g = (xp.asarray(a, x.dtype) for a in (BT, AT, G))
    v = xp.einsum('ir,nctsrq,jq->ijcnts', bt, d, bt)                       # (4, 4, C, N, TH, TW)
    gy_pad = xp.zeros(gy.shape[:2] + (2 * th, 2 * tw), dtype=gy.dtype)
    gy_pad[:, :, :oh, :ow] = gy
    gy_tiles = gy_pad.reshape(n, -1, th, 2, tw, 2)                          # (N, O, TH, a, TW, b)
    gm = xp.einsum('ai,notasb,bj->ijonts', at, gy_tiles, at)               # (4, 4, O, N, TH, TW)
    gu = xp.einsum('ijonts,ijcnts->ijoc', gm, v)                            # (4, 4, O, C)
    return xp.einsum('ik,ijoc,jl->ockl', g, gu, g)


def winograd_conv2d(x, w, padding):
    """Same as ``winograd_conv2d_simple``, fast: blocks of images whose transformed tiles fit
    in about ``BLOCK_BYTES``, on the pool's threads (each with a one-thread GEMM). Inside a
    block the tiles are ordered (TH, TW, B), the batch innermost, so that every addition of
    the transforms runs over TW*B contiguous numbers, not TW (2 in a 4x4 layer)."""
    xp = get_array_module(x)
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding)
    n, c = x.shape[:2]
    o = w.shape[0]
    u = filter_transform(w)
    y = xp.empty((n, o, oh, ow), dtype=xp.result_type(x.dtype, w.dtype))

    def one_block(block):
        v = _input_transform(_pad(x[block], pad), th, tw)                   # (16, C, T*B)
        m = xp.matmul(u, v).reshape(4, 4, o, th, tw, -1)                    # (16, O, T*B)
        _output_transform(m, y[block], oh, ow)
    parallel_for(one_block, _blocks(n, 16 * max(c, o) * th * tw * x.itemsize, xp))
    return y


def _input_transform(x_pad, th, tw):
    """V = B^T d B of every tile of x_pad (B, C, 2*TH + 2, 2*TW + 2) -> (16, C, TH*TW*B).

    The tiles' row r is image rows r, r + 2, r + 4, ...: split into even and odd rows and
    columns first (one copy: (C, row parity, column parity, TH + 1, TW + 1, B)), row r is
    ``[r % 2, :, r // 2 : r // 2 + TH]``, a slice. Rows first, on whole rows: B^T's rows are
    d0 - d2, d1 + d2, d2 - d1, d1 - d3 (``_BT_TERMS``); then the same on columns.
    """
    xp = get_array_module(x_pad)
    b, c = x_pad.shape[:2]
    split = x_pad.reshape(b, c, th + 1, 2, tw + 1, 2).transpose(1, 3, 5, 2, 4, 0)
    split = xp.ascontiguousarray(split)
    rows = [split[:, r % 2, :, r // 2:r // 2 + th] for r in range(4)]   # (C, 2, TH, TW+1, B)
    v = xp.empty((4, 4, c, th, tw, b), dtype=x_pad.dtype)
    for i, (p, q, sign) in enumerate(_BT_TERMS):
        e = (xp.subtract if sign < 0 else xp.add)(rows[p], rows[q])   # row i of B^T d
        cols = [e[:, k % 2, :, k // 2:k // 2 + tw] for k in range(4)]   # (C, TH, TW, B)
        for j, (p2, q2, sign2) in enumerate(_BT_TERMS):
            (xp.subtract if sign2 < 0 else xp.add)(cols[p2], cols[q2], out=v[i, j])
    return v.reshape(16, c, -1)


# B^T's rows as (first term, second term, sign of the second): row i of B^T d = d_p +- d_q.
_BT_TERMS = ((0, 2, -1), (1, 2, 1), (2, 1, -1), (1, 3, -1))


def _output_transform(m, y, oh, ow):
    """y (B, O, OH, OW) = A^T M A for M (4, 4, O, TH, TW, B): A^T's rows are m0 + m1 + m2 and
    m1 - m2 - m3; output pixel (2t + a, 2s + b) of tile (t, s) is element (a, b)."""
    for a, r in enumerate((m[0] + m[1] + m[2], m[1] - m[2] - m[3])):   # each (4, O, TH, TW, B)
        for b, out in enumerate((r[0] + r[1] + r[2], r[1] - r[2] - r[3])):
            ha, wb = (oh - a + 1) // 2, (ow - b + 1) // 2     # the tiles that hold this pixel
            y[:, :, a::2, b::2] = out[:, :ha, :wb].transpose(3, 0, 1, 2)


def winograd_grad_weight(gy, x, padding):
    """dL/dw (O, C, 3, 3) of ``winograd_conv2d(x, w, padding)`` given gy (N, O, OH, OW).

    The forward's adjoint: y_t = A^T [sum_c U[c] * V_t[c]] A, so dU[o, c] = sum_t
    (A gy_t A^T)[o] * V_t[c] (element-wise per tile position (i, j): 16 GEMMs of
    (O, T) @ (T, C)), and dw = G^T dU G (one GEMM with G kron G, as in ``filter_transform``).
    Blocks of images as in the forward; their sums added in block order (reproducible)."""
    xp = get_array_module(gy)
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding)
    n, c = x.shape[:2]
    o = gy.shape[1]

    def one_block(block):
        v = _input_transform(_pad(x[block], pad), th, tw)                   # (16, C, T*B)
        g = _grad_output_transform(gy[block], th, tw)                       # (16, O, T*B)
        return xp.matmul(g, v.transpose(0, 2, 1))                           # (16, O, C)
    parts = parallel_for(one_block, _blocks(n, 16 * max(c, o) * th * tw * x.itemsize, xp))
    gu = parts[0]
    for part in parts[1:]:
        gu = gu + part
    g2 = xp.asarray(np.kron(G, G), dtype=gu.dtype)                         # (16, 9)
    return xp.matmul(gu.reshape(16, -1).T, g2).reshape(o, c, 3, 3)


def _grad_output_transform(gy, th, tw):
    """A gy_t A^T of every 2x2 tile of gy (B, O, OH, OW) -> (16, O, TH*TW*B), the tiles in the
    order of ``_input_transform``. A's rows are (1, 0), (1, 1), (1, -1), (0, -1)."""
    xp = get_array_module(gy)
    b, o, oh, ow = gy.shape
    split = xp.zeros((o, 2, 2, th, tw, b), dtype=gy.dtype)   # (O, row parity, col parity, ..)
    for a in range(2):
        for b_ in range(2):
            part = gy[:, :, a::2, b_::2]
            split[:, a, b_, :part.shape[2], :part.shape[3]] = part.transpose(1, 2, 3, 0)
    g = xp.empty((4, 4, o, th, tw, b), dtype=gy.dtype)
    for i, r in enumerate(_a_combinations(split[:, 0], split[:, 1], xp)):   # (O, 2, TH, TW, B)
        for j, col in enumerate(_a_combinations(r[:, 0], r[:, 1], xp)):
            g[i, j] = col
    return g.reshape(16, o, -1)


def _a_combinations(first, second, xp):
    """A's rows applied to (x0, x1): x0, x0 + x1, x0 - x1, -x1."""
    return first, first + second, first - second, -second


def _blocks(n, per_image, xp):
    """Slices of the batch: about ``BLOCK_BYTES`` each, a multiple of the thread count of
    them (at most one per image); one block on a GPU."""
    if xp is not np or n == 0:
        return [slice(0, n)]
    threads = get_num_threads()
    count = -(-n // max(1, BLOCK_BYTES // per_image))
    count = min(n, -(-count // threads) * threads)
    step = -(-n // count)
    return [slice(start, start + step) for start in range(0, n, step)]


def worth_it(in_channels, out_channels, out_size):
    """The 'auto' rule: is Winograd faster than im2col for this shape on the CPU?"""
    return min(in_channels, out_channels) >= 64 and min(out_size) >= 2
