"""Winograd minimal filtering F(2x2, 3x3) and F(4x4, 3x3) for stride-1, dilation-1,
ungrouped 3x3 convs.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2015). An m x m block of
outputs of a 3x3 correlation reads an R x R tile ``d`` of the (padded) input, R = m + 2.
Instead of m*m*9 multiplies it takes R*R::

    Y = A^T [ (G g G^T) * (B^T d B) ] A     (* element-wise; Y m x m, g 3x3, the rest R x R)

F(2x2, 3x3), m = 2, 16 multiplies for 4 outputs (2.25x fewer than 36)::

    B^T = [[1, 0, -1, 0],     G = [[1,    0,   0],     A^T = [[1, 1,  1,  0],
           [0, 1,  1, 0],          [1/2,  1/2, 1/2],          [0, 1, -1, -1]]
           [0, -1, 1, 0],          [1/2, -1/2, 1/2],
           [0, 1,  0, -1]]         [0,    0,   1]]

F(4x4, 3x3), m = 4, 36 multiplies for 16 outputs (4x fewer than 144); the matrices ``BT4``,
``G4``, ``AT4`` below (interpolation points 0, 1, -1, 2, -2 and infinity).

Summed over the input channels c, the element-wise product becomes, for each of the R*R
positions (i, j) of the tile, one matrix product over c::

    U[i, j] = (G g G^T)[i, j]    (O, C)      the filter transform, once per call
    V[i, j] = (B^T d B)[i, j]    (C, T)      the input transform of every tile (T = N * TH * TW)
    M[i, j] = U[i, j] @ V[i, j]  (O, T)      R*R independent GEMMs
    y tile  = A^T M A            (O, T, m, m)

Tiles overlap by 2 pixels: tile t's row r is ``x_pad[m*t + r]``.

Shapes: x (N, C, H, W), w (O, C, 3, 3), padding (top, bottom, left, right), ``tile`` = m;
OH = H + top + bottom - 2 (likewise OW); TH = ceil(OH / m), TW = ceil(OW / m) tiles. The input
is padded to m*(TH + 1) rows and columns (outputs past OH are computed and dropped); the fast
version never builds that padded copy: ``_split`` writes the image into zeros directly.

Float32 error, relative to ``sum |x| |w|`` over each output's window (N(0, 1) data, 64 to 512
channels; ``test_winograd_float32_error_is_within_the_stated_bound``): im2col up to 2.2e-7,
F(2x2, 3x3) up to 1.4e-7 for y and 3.8e-7 for dW (its transforms only add, subtract and
halve); F(4x4, 3x3) up to 2.7e-6 for y and 7.2e-6 for dW, ten times more (entries up to 8 and
1/24 amplify the rounding errors). The tests bound them by 1e-6 and 1e-5.

``winograd_conv2d_simple`` is the plain version (whole batch, einsum for the transforms);
``winograd_conv2d`` is the same maths in cache-sized blocks of images on the pool's threads,
with the transforms written as the few additions they are (``_BT``, ``_AT``, ``_A``).

Explained in tutorials/14_winograd.md.
"""
import numpy as np

from ...backend import get_array_module
from ...parallel import batch_blocks, matmul, parallel_for

BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G2 = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], dtype=np.float64)
AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
BT4 = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=np.float64)
AT4 = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=np.float64)
MATRICES = {2: (BT2, G2, AT2), 4: (BT4, G4, AT4)}    # tile m -> (B^T, G, A^T)
BLOCK_BYTES = 8 * 2**20


def supports(weight_shape, stride, dilation, groups):
    """True when Winograd applies: a 3x3 kernel, stride 1, dilation 1, no groups."""
    return (tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1)


def _tiles(x_shape, padding, m):
    """(OH, OW), (TH, TW) and the padding to m*(TH + 1) by m*(TW + 1) (top, bottom, left,
    right) for m x m output tiles."""
    top, bottom, left, right = padding
    oh, ow = x_shape[2] + top + bottom - 2, x_shape[3] + left + right - 2
    th, tw = -(-oh // m), -(-ow // m)
    return (oh, ow), (th, tw), (top, m * (th + 1) - x_shape[2] - top,
                                left, m * (tw + 1) - x_shape[3] - left)


def _pad(x, padding):
    """Zero-pad the last two axes by (top, bottom, left, right), all >= 0 here."""
    xp = get_array_module(x)
    top, bottom, left, right = padding
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def filter_transform(w, m=2):
    """U = G w G^T, as (R*R, O, C): (i, j) row-major first, ready for the batched GEMM.

    One GEMM: U[(i, j), (o, c)] = sum_(k, l) (G kron G)[(i, j), (k, l)] * w[(o, c), (k, l)], in
    w's dtype (in float64 it would take 5x longer: 11 ms for 512 channels)."""
    u = matmul(_g_kron_g(m, w), w.reshape(-1, 9).T)      # (R*R, O*C), on the threads
    return u.reshape(-1, w.shape[0], w.shape[1])


def _g_kron_g(m, like):
    """G kron G (R*R, 9) of tile m, in ``like``'s array module and dtype: the filter transform
    of a flattened 3x3 kernel, U[(i, j)] = sum_(k, l) G[i, k] G[j, l] w[k, l]."""
    g = MATRICES[m][1]
    return get_array_module(like).asarray(np.kron(g, g), dtype=like.dtype)


def _all_tiles(x_pad, m, th, tw):
    """d[n, c, t, s, r, q] = x_pad[n, c, m*t + r, m*s + q]: every R x R tile (a copy)."""
    xp = get_array_module(x_pad)
    return xp.stack([xp.stack([x_pad[:, :, r:r + m * th:m, q:q + m * tw:m]
                               for q in range(m + 2)], -1) for r in range(m + 2)], -2)


def winograd_conv2d_simple(x, w, padding, tile=2):
    """The conv of x (N, C, H, W) with w (O, C, 3, 3), stride 1: the maths above, plainly."""
    xp = get_array_module(x)
    m = tile
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding, m)
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    bt, _, at = (xp.asarray(a, x.dtype) for a in MATRICES[m])
    d = _all_tiles(_pad(x, pad), m, th, tw)
    v = xp.einsum('ir,nctsrq,jq->ijcnts', bt, d, bt).reshape((m + 2)**2, c, -1)  # (R*R, C, T)
    mm = xp.matmul(filter_transform(w, m), v).reshape(m + 2, m + 2, o, n, th, tw)
    y = xp.einsum('ai,ijonts,bj->notasb', at, mm, at)                     # (N, O, TH, m, TW, m)
    return y.reshape(n, o, m * th, m * tw)[:, :, :oh, :ow]


def winograd_grad_weight_simple(gy, x, padding, tile=2):
    """dL/dw of ``winograd_conv2d_simple``, plainly: the adjoint of each of its steps."""
    xp = get_array_module(gy)
    m = tile
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding, m)
    n = x.shape[0]
    bt, g, at = (xp.asarray(a, x.dtype) for a in MATRICES[m])
    v = xp.einsum('ir,nctsrq,jq->ijcnts', bt, _all_tiles(_pad(x, pad), m, th, tw), bt)
    gy_pad = xp.zeros(gy.shape[:2] + (m * th, m * tw), dtype=gy.dtype)
    gy_pad[:, :, :oh, :ow] = gy
    gy_tiles = gy_pad.reshape(n, -1, th, m, tw, m)                          # (N, O, TH, a, TW, b)
    gm = xp.einsum('ai,notasb,bj->ijonts', at, gy_tiles, at)               # (R, R, O, N, TH, TW)
    gu = xp.einsum('ijonts,ijcnts->ijoc', gm, v)                            # (R, R, O, C)
    return xp.einsum('ik,ijoc,jl->ockl', g, gu, g)


def winograd_conv2d(x, w, padding, tile=2):
    """Same as ``winograd_conv2d_simple``, fast: blocks of images whose transformed tiles fit
    in about ``BLOCK_BYTES``, on the pool's threads (each with a one-thread GEMM). Inside a
    block the tiles are ordered (TH, TW, B), the batch innermost, so that every addition of
    the transforms runs over TW*B contiguous numbers, not TW (2 in a 4x4 layer)."""
    xp = get_array_module(x)
    m = tile
    (oh, ow), (th, tw), pad = _tiles(x.shape, padding, m)
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    u = filter_transform(w, m)
    y = xp.empty((n, o, oh, ow), dtype=xp.result_type(x.dtype, w.dtype))

    def one_block(block):
        v = _input_transform(x[block], pad, th, tw, m)                     # (R*R, C, T*B)
        mm = xp.matmul(u, v).reshape(m + 2, m + 2, o, th, tw, -1)          # (R*R, O, T*B)
        _output_transform(mm, y[block], oh, ow, m)
    parallel_for(one_block, _blocks(x, max(c, o), th * tw, m))
    return y


def winograd_grad_weight(gy, x, padding, tile=2):
    """dL/dw (O, C, 3, 3) of ``winograd_conv2d(x, w, padding, tile)`` given gy (N, O, OH, OW).

    The forward's adjoint: y_t = A^T [sum_c U[c] * V_t[c]] A, so dU[o, c] = sum_t
    (A gy_t A^T)[o] * V_t[c] (element-wise per tile position (i, j): R*R GEMMs of
    (O, T) @ (T, C)), and dw = G^T dU G (one GEMM with G kron G, as in ``filter_transform``).
    Blocks of images as in the forward; their sums added in block order (reproducible)."""
    xp = get_array_module(gy)
    m = tile
    _, (th, tw), pad = _tiles(x.shape, padding, m)
    c, o = x.shape[1], gy.shape[1]

    def one_block(block):
        v = _input_transform(x[block], pad, th, tw, m)                     # (R*R, C, T*B)
        g = _grad_output_transform(gy[block], th, tw, m)                   # (R*R, O, T*B)
        return xp.matmul(g, v.transpose(0, 2, 1))                           # (R*R, O, C)
    parts = parallel_for(one_block, _blocks(x, max(c, o), th * tw, m))
    gu = sum(parts[1:], parts[0])      # in block order: the same bits from run to run
    return matmul(gu.reshape((m + 2)**2, -1).T, _g_kron_g(m, gu)).reshape(o, c, 3, 3)


def _blocks(x, channels, tiles, m):
    """Blocks of x's images whose transformed tiles ((m + 2)^2 numbers per tile and channel)
    take about ``BLOCK_BYTES`` (``parallel.batch_blocks``)."""
    per_image = (m + 2)**2 * channels * tiles * x.itemsize
    return batch_blocks(x.shape[0], per_image, BLOCK_BYTES, get_array_module(x))


def _split(a, rows, cols, m, top=0, left=0):
    """a (B, C, H, W), zero-padded by ``top`` rows and ``left`` columns (and at the end), as
    (C, row rem, column rem, rows, cols, B): element [c, r, q, t, s, b] is padded pixel
    (m*t + r, m*s + q) of image b. One copy of each of the m*m strided sub-images, the batch
    moved innermost; the padding is the zeros around them (no padded copy of ``a``)."""
    xp = get_array_module(a)
    b, c = a.shape[:2]
    out = xp.zeros((c, m, m, rows, cols, b), dtype=a.dtype)
    for r in range(m):
        t0 = -(-(top - r) // m) if top > r else 0     # the first tile row holding image rows
        for q in range(m):
            s0 = -(-(left - q) // m) if left > q else 0
            part = a[:, :, m * t0 + r - top::m, m * s0 + q - left::m]
            out[:, r, q, t0:t0 + part.shape[2], s0:s0 + part.shape[3]] = \
                part.transpose(1, 2, 3, 0)
    return out


def _input_transform(x, pad, th, tw, m):
    """V = B^T d B of every tile of x (B, C, H, W) padded by ``pad`` -> (R*R, C, TH*TW*B).

    The tiles' row r is padded rows r, r + m, r + 2m, ...: split the rows and columns by their
    remainder mod m first (``_split``: (C, row rem, column rem, TH + 1, TW + 1, B)); then row r
    is ``[r % m, :, r // m : r // m + TH]``, a slice. B^T on the rows first (whole rows), then
    on the columns, each as the additions of ``_BT[m]``."""
    xp = get_array_module(x)
    b, c = x.shape[:2]
    r = m + 2
    split = _split(x, th + 1, tw + 1, m, pad[0], pad[2])
    e = xp.empty((r, c, m, th, tw + 1, b), dtype=x.dtype)               # B^T d, row by row
    _BT[m]([split[:, k % m, :, k // m:k // m + th] for k in range(r)], e)
    v = xp.empty((r, r, c, th, tw, b), dtype=x.dtype)
    for i in range(r):
        _BT[m]([e[i][:, k % m, :, k // m:k // m + tw] for k in range(r)], v[i])
    return v.reshape(r * r, c, -1)


def _output_transform(mm, y, oh, ow, m):
    """y (B, O, OH, OW) = A^T M A for M (R, R, O, TH, TW, B); output pixel (m*t + a, m*s + b)
    is element (a, b) of tile (t, s)."""
    xp = get_array_module(mm)
    rows = xp.empty((m,) + mm.shape[1:], dtype=mm.dtype)                 # (m, R, O, TH, TW, B)
    _AT[m](mm, rows)
    out = xp.empty((m,) + mm.shape[2:], dtype=mm.dtype)                  # (m, O, TH, TW, B)
    for a in range(m):
        _AT[m](rows[a], out)
        for b in range(m):
            ha, wb = (oh - a + m - 1) // m, (ow - b + m - 1) // m   # the tiles holding the pixel
            y[:, :, a::m, b::m] = out[b][:, :ha, :wb].transpose(3, 0, 1, 2)


def _grad_output_transform(gy, th, tw, m):
    """A gy_t A^T of every m x m tile of gy (B, O, OH, OW) -> (R*R, O, TH*TW*B), the tiles in
    the order of ``_input_transform``."""
    xp = get_array_module(gy)
    b, o = gy.shape[:2]
    r = m + 2
    split = _split(gy, th, tw, m)                            # (O, row rem, column rem, ...)
    rows = xp.empty((r, o, m, th, tw, b), dtype=gy.dtype)
    _A[m]([split[:, k] for k in range(m)], rows)
    g = xp.empty((r, r, o, th, tw, b), dtype=gy.dtype)
    for i in range(r):
        _A[m]([rows[i][:, k] for k in range(m)], g[i])
    return g.reshape(r * r, o, -1)


# -- the transforms as additions: out[i] = sum_k T[i, k] d[k], d and out sequences of arrays --

def _bt2(d, out):
    """B^T of F(2x2, 3x3): d0 - d2, d1 + d2, d2 - d1, d1 - d3."""
    xp = get_array_module(out)
    xp.subtract(d[0], d[2], out=out[0])
    xp.add(d[1], d[2], out=out[1])
    xp.subtract(d[2], d[1], out=out[2])
    xp.subtract(d[1], d[3], out=out[3])


def _bt4(d, out):
    """B^T of F(4x4, 3x3) (``BT4``) in 19 passes instead of one per non-zero and per factor
    (34), sharing d4 - d2 and d1 - d3 between rows."""
    xp = get_array_module(out)
    t, s = xp.empty_like(out[0]), xp.empty_like(out[0])
    xp.subtract(d[4], d[2], out=t)                                     # d4 - d2
    xp.subtract(d[0], d[2], out=out[0])
    out[0] *= 4
    out[0] += t                                                        # 4 d0 - 5 d2 + d4
    xp.subtract(d[1], d[3], out=s)
    s *= 2                                                             # 2 (d1 - d3)
    xp.subtract(t, s, out=out[3])                                      # -2 d1 - d2 + 2 d3 + d4
    xp.add(t, s, out=out[4])                                           # 2 d1 - d2 - 2 d3 + d4
    s *= 2
    xp.subtract(d[5], d[3], out=out[5])
    out[5] += s                                                        # 4 d1 - 5 d3 + d5
    xp.add(d[1], d[2], out=t)
    t *= 4
    xp.add(d[3], d[4], out=out[1])
    out[1] -= t                                                        # -4 d1 - 4 d2 + d3 + d4
    xp.subtract(d[1], d[2], out=t)
    t *= 4
    xp.subtract(d[4], d[3], out=out[2])
    out[2] += t                                                        # 4 d1 - 4 d2 - d3 + d4


def _at2(mm, out):
    """A^T of F(2x2, 3x3): m0 + m1 + m2, m1 - m2 - m3."""
    xp = get_array_module(out)
    xp.add(mm[0], mm[1], out=out[0])
    out[0] += mm[2]
    xp.subtract(mm[1], mm[2], out=out[1])
    out[1] -= mm[3]


def _at4(mm, out):
    """A^T of F(4x4, 3x3) (``AT4``) in 13 passes, sharing m1 +- m2 and m3 +- m4."""
    xp = get_array_module(out)
    t = xp.empty_like(out[0])
    xp.add(mm[1], mm[2], out=out[2])                                   # m1 + m2
    xp.subtract(mm[1], mm[2], out=out[1])                              # m1 - m2
    xp.add(mm[3], mm[4], out=t)                                        # m3 + m4
    xp.add(mm[0], out[2], out=out[0])
    out[0] += t                                                        # m0 + m1 + m2 + m3 + m4
    t *= 4
    out[2] += t                                                        # m1 + m2 + 4 (m3 + m4)
    xp.add(out[1], mm[5], out=out[3])
    xp.subtract(mm[3], mm[4], out=t)
    t *= 2
    out[1] += t                                                        # m1 - m2 + 2 (m3 - m4)
    t *= 4
    out[3] += t                                                        # m1 - m2 + 8 (m3 - m4) + m5


def _a2(x, out):
    """A of F(2x2, 3x3) (A^T's transpose): x0, x0 + x1, x0 - x1, -x1."""
    xp = get_array_module(out)
    out[0] = x[0]
    xp.add(x[0], x[1], out=out[1])
    xp.subtract(x[0], x[1], out=out[2])
    xp.negative(x[1], out=out[3])


def _a4(x, out):
    """A of F(4x4, 3x3): x0, x0 + x1 + x2 + x3, x0 - x1 + x2 - x3, x0 + 2 x1 + 4 x2 + 8 x3,
    x0 - 2 x1 + 4 x2 - 8 x3, x3 (13 passes)."""
    xp = get_array_module(out)
    t, s = xp.empty_like(out[0]), xp.empty_like(out[0])
    out[0], out[5] = x[0], x[3]
    xp.add(x[0], x[2], out=t)
    xp.add(x[1], x[3], out=s)
    xp.add(t, s, out=out[1])
    xp.subtract(t, s, out=out[2])
    xp.multiply(x[2], 4, out=t)
    t += x[0]                                                          # x0 + 4 x2
    xp.multiply(x[3], 4, out=s)
    s += x[1]
    s *= 2                                                             # 2 x1 + 8 x3
    xp.add(t, s, out=out[3])
    xp.subtract(t, s, out=out[4])


_BT, _AT, _A = {2: _bt2, 4: _bt4}, {2: _at2, 4: _at4}, {2: _a2, 4: _a4}


def auto_tile(in_channels, out_channels, out_size):
    """The 'auto' rule on the CPU: None (im2col is faster), 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3))
    for a conv of this shape. Measured on 2 cores (AMD EPYC, AVX-512), batch 64 and 256, the
    two tile sizes alternated: below 64 channels the transforms cost more than the multiplies
    saved; F(4x4) takes 7-18% less time than F(2x2) at 32x32 and 16x16 outputs, 0-12% less at
    8x8, and 1-20% more at 4x4, where its 6x6 tiles pad the image to 8x8 and its transforms,
    not its GEMMs, are most of the time (``_input_transform`` is memory-bound: its passes are
    additions over arrays larger than the L2 cache)."""
    if min(in_channels, out_channels) < 64 or min(out_size) < 2:
        return None
    return 4 if min(out_size) >= 8 else 2
