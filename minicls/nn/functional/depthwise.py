"""The depthwise conv (groups == in channels == out channels, as in MobileNet), block by block.

In a depthwise conv each channel c is convolved with its own KH x KW kernel W[c, 0]:

    y[n, c, oh, ow] = sum over taps k = (i, j) of
                      W[c, 0, i, j] * x_pad[n, c, oh*SH + i*DH, ow*SW + j*DW]

**Whole rows (stride 1).** Read the padded image (width WP) flattened row after row: output
(oh, ow) sits at q = oh*WP + ow, and what tap k reads for it at q + o_k, o_k = i*DH*WP + j*DW.
So one contiguous slice of L = (OH-1)*WP + OW pixels per tap covers every output of an image
(``_tap_rows``); the WP - OW pixels at the end of each row are junk, computed and dropped.
Copies and dot products run over L contiguous pixels instead of OH rows of OW. Per block of B
images (K = KH*KW):

    y        = W (C, 1, K) @ columns (B, C, K, L)  ->  (B, C, 1, L), cropped to (B, C, OH, OW)
    dW[c, k] = sum over n, q of dy_rows[n, c, q] * tap_rows_k[n, c, q]   (dy laid out WP wide)
    dx       = the stride-1 forward with W flipped over dy scattered into a zero image at its
               windows' places (``_scatter``): every stride and padding takes this route.

Strided convs keep ``im2col``'s windows (B, C, K, OH*OW) for y and dW (the whole-row slices
would read SW-strided, with SW times the junk: measured slower).

**Blocks.** The batch is cut into blocks of about ``BLOCK_BYTES`` of columns (``conv._blocks``;
the backward's counted at the input's size, dx's columns) run on the thread pool. 1 MiB (one
core's L2) was as fast on one thread but slower on two (one-image blocks: more Python
calls). dW is kept per image, then summed over the images in order, so its bits do not
depend on the blocks or the thread count.

**Measured** (CPU time, one thread, best of 7, batch 64, float32, 3x3 pad 1, alternated with
the im2col-window version this replaced), forward / forward+backward in ms:
96ch 32x32 22 / 92 -> 22 / 58, 144ch 16x16 12 / 46 -> 9 / 25, 144ch 32x32 stride 2
16 / 103 -> 17 / 64, 960ch 4x4 16 / 52 -> 11 / 31. (Half the old backward was a flipped W
viewed with negative strides, which ``matmul`` cannot hand to BLAS; it is copied now.) The K
separate ``y += W_k * slice`` sweeps (NumPy has no fused multiply-add) were re-measured in
L2-sized blocks: still 2x slower than the matmul. The plain reference is
``reference.conv2d``, the oracle both conv paths are tested against.
"""
from ...backend import get_array_module
from ...parallel import parallel_for
from .im2col import im2col, pad2d

BLOCK_BYTES = 4 * 2**20   # columns per block (``conv._blocks``); see the module docstring


def is_depthwise(x_shape, w_shape, groups):
    """A conv of one filter per input channel: groups == C == O (so W is (C, 1, KH, KW))."""
    return groups > 1 and groups == x_shape[1] == w_shape[0]


def _columns(x, geometry):
    """Strided convs: x (B, C, H, W) -> its windows as a (B, C, K, OH*OW) view (``im2col``)."""
    kernel, stride, padding, dilation, out_size, _ = geometry
    b, c = x.shape[:2]
    cols = im2col(x, kernel, stride, dilation, padding, out_size)     # (B, KH, KW, C, OH, OW)
    k = kernel[0] * kernel[1]
    return cols.reshape(b, k, c, out_size[0] * out_size[1]).transpose(0, 2, 1, 3)


def _tap_rows(padded, kernel, dilation, out_size):
    """One (B, C, L) view per tap of ``padded`` (B, C, HP, WP), stride 1: view k at
    q = oh*WP + ow holds the pixel tap k reads for output (oh, ow) (module docstring)."""
    b, c, hp, wp = padded.shape
    length = (out_size[0] - 1) * wp + out_size[1]
    flat = padded.reshape(b, c, hp * wp)
    return [flat[:, :, o:o + length] for o in
            (i * dilation[0] * wp + j * dilation[1]
             for i in range(kernel[0]) for j in range(kernel[1]))]


def _correlate(padded, w, kernel, dilation, out_size):
    """The stride-1 depthwise conv of a padded block (B, C, HP, WP) by W (C, 1, K), as
    W @ columns of whole rows: (B, C, OH, OW)."""
    xp = get_array_module(padded)
    b, c, _, wp = padded.shape
    taps = _tap_rows(padded, kernel, dilation, out_size)
    length = taps[0].shape[-1]
    cols = xp.empty((b, c, len(taps), length), dtype=padded.dtype)
    for k, tap in enumerate(taps):
        cols[:, :, k] = tap
    rows = xp.empty((b, c, 1, out_size[0] * wp), dtype=xp.result_type(padded.dtype, w.dtype))
    xp.matmul(w, cols, out=rows[..., :length])        # the rest: junk of the last row
    return rows.reshape(b, c, out_size[0], wp)[..., :out_size[1]]


def forward(x, weight, geometry, blocks):
    """y (N, C, OH, OW): y[n, c] = W[c] (1, K) @ columns[n, c] (K, L), rows cropped to OW."""
    xp = get_array_module(x)
    kernel, stride, padding, dilation, out_size, _ = geometry
    c = x.shape[1]
    w = xp.ascontiguousarray(weight.reshape(c, 1, -1))               # (C, 1, K)
    y = xp.empty((x.shape[0], c) + tuple(out_size), dtype=xp.result_type(x.dtype, w.dtype))

    def one_block(block):
        if stride == (1, 1):
            y[block] = _correlate(pad2d(x[block], padding), w, kernel, dilation, out_size)
        else:
            out = y[block].reshape(-1, c, 1, out_size[0] * out_size[1])
            xp.matmul(w, _columns(x[block], geometry), out=out)
    parallel_for(one_block, blocks)
    return y


def _scatter(gy, geometry, image_size):
    """dy (B, C, OH, OW) put into zeros (B, C, H + DH*(KH-1), W + DW*(KW-1)) at row
    oh*SH + DH*(KH-1) - top (columns alike), where the flipped stride-1 correlation reads it;
    rows falling outside (a padding wider than the kernel's reach) only fed the padding."""
    xp = get_array_module(gy)
    kernel, stride, padding, dilation = geometry[:4]
    places, size = [], []
    for axis in (0, 1):
        span = dilation[axis] * (kernel[axis] - 1)
        start, s = span - padding[2 * axis], stride[axis]
        size.append(image_size[axis] + span)
        first = max(0, -(start // s))                                 # first oh landing >= 0
        last = max(first, min(gy.shape[2 + axis], (size[-1] - 1 - start) // s + 1))
        places.append((slice(first, last), slice(start + first * s, start + last * s, s)))
    (rows_in, rows), (cols_in, cols) = places
    buf = xp.zeros(gy.shape[:2] + tuple(size), dtype=gy.dtype)
    buf[:, :, rows, cols] = gy[:, :, rows_in, cols_in]
    return buf


def backward(gy, x, weight, geometry, x_shape, blocks):
    """(dx or None, dW or None): dx when ``weight`` is given, dW when ``x`` is given."""
    xp = get_array_module(gy)
    kernel, stride, padding, dilation, out_size, _ = geometry
    n, c, k = x_shape[0], x_shape[1], kernel[0] * kernel[1]
    gx = xp.empty(x_shape, dtype=gy.dtype) if weight is not None else None
    parts = xp.empty((n, c, 1, k), dtype=gy.dtype) if x is not None else None
    if weight is not None:                                            # flipped, contiguous
        w_flipped = xp.ascontiguousarray(weight[..., ::-1, ::-1].reshape(c, 1, -1))

    def one_block(block):
        if weight is not None:
            gx[block] = _correlate(_scatter(gy[block], geometry, x_shape[2:]), w_flipped,
                                   kernel, dilation, tuple(x_shape[2:]))
        if x is not None and stride != (1, 1):                        # (B, C, 1, K)
            g = gy[block].reshape(-1, c, 1, out_size[0] * out_size[1])
            parts[block] = xp.matmul(g, _columns(x[block], geometry).transpose(0, 1, 3, 2))
        elif x is not None:                # dy laid out WP wide, zeros in the junk columns
            padded = pad2d(x[block], padding)
            gz = xp.zeros(gy[block].shape[:3] + (padded.shape[3],), dtype=gy.dtype)
            gz[..., :out_size[1]] = gy[block]
            taps = _tap_rows(padded, kernel, dilation, out_size)
            gz = gz.reshape(gz.shape[0], c, gz.shape[2] * gz.shape[3])[..., :taps[0].shape[-1]]
            for tap, tap_rows in enumerate(taps):
                parts[block, :, 0, tap] = xp.einsum('bcl,bcl->bc', gz, tap_rows)
    parallel_for(one_block, blocks)
    gw = None
    if x is not None:                  # per image, then over the images in order
        gw = parts.sum(axis=0).reshape((c, 1) + tuple(kernel))
    return gx, gw
