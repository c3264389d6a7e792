"""The depthwise conv (groups == in channels == out channels, as in MobileNet): per image.

In a depthwise conv each channel c is convolved with its own KH x KW kernel W[c, 0]:

    y[n, c] = sum over taps (i, j) of W[c, 0, i, j] * x_pad[n, c, rows_i, cols_j]

where (rows_i, cols_j) is the strided slice of the padded input that tap (i, j) reads in every
window (``im2col.tap_slices``). The general conv (``conv.py``) runs this as C tiny GEMMs over
columns laid out (C, KH*KW, N*OH*OW), with the batch inside the columns: that costs a transposed
copy of x going in and of y coming out. Here the columns keep the input's own layout,
(N, C, KH*KW, OH*OW) as a view of ``im2col``'s output, and the KH*KW multiply-adds of each
(image, channel) are one (1, K) @ (K, P) product: ``matmul`` batched over (N, C), which sums
the K = KH*KW shifted slices in one pass (NumPy cannot fuse a multiply and an add, so K
separate ``y += W_ij * slice`` sweeps are measurably slower). Backward::

    dW[c, 0, i, j] = sum over n of  dy[n, c] . x_pad[n, c, rows_i, cols_j]     (dot over P)
    dx = the same product with W flipped, on dy padded (stride 1), or
         dcols = W^T dy, then col2im (strided convs)

The batch is cut into the conv's blocks (``conv._blocks``) on the thread pool. The plain
reference (``reference.conv2d``) is the oracle both conv paths are tested against.
"""
from ...backend import get_array_module
from ...parallel import parallel_for
from .im2col import col2im, im2col


def is_depthwise(x_shape, w_shape, groups):
    """A conv of one filter per input channel: groups == C == O (so W is (C, 1, KH, KW))."""
    return groups > 1 and groups == x_shape[1] == w_shape[0]


def _columns(x, geometry):
    """x (B, C, H, W) -> its windows as a (B, C, K, P) view (K = KH*KW, P = OH*OW)."""
    kernel, stride, padding, dilation, out_size, _ = geometry
    b, c = x.shape[:2]
    cols = im2col(x, kernel, stride, dilation, padding, out_size)     # (B, KH, KW, C, OH, OW)
    return cols.reshape(b, -1, c, out_size[0] * out_size[1]).transpose(0, 2, 1, 3)


def forward(x, weight, geometry, blocks):
    """y (N, C, OH, OW): y[n, c] = W[c] (1, K) @ columns[n, c] (K, P)."""
    xp = get_array_module(x)
    out_size = geometry[4]
    c = x.shape[1]
    w = weight.reshape(c, 1, -1)                                      # (C, 1, K)
    y = xp.empty((x.shape[0], c) + tuple(out_size), dtype=xp.result_type(x.dtype, w.dtype))

    def one_block(block):
        out = y[block].reshape(-1, c, 1, out_size[0] * out_size[1])
        xp.matmul(w, _columns(x[block], geometry), out=out)
    parallel_for(one_block, blocks)
    return y


def backward(gy, x, weight, geometry, x_shape, blocks):
    """(dx or None, dW or None): dx when ``weight`` is given, dW when ``x`` is given."""
    xp = get_array_module(gy)
    kernel, stride, padding, dilation, out_size, groups = geometry
    c, p = x_shape[1], out_size[0] * out_size[1]
    gx = xp.empty(x_shape, dtype=gy.dtype) if weight is not None else None
    spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
    flipped = (spans[0] - padding[0], spans[0] - padding[1],
               spans[1] - padding[2], spans[1] - padding[3])
    by_correlation = weight is not None and stride == (1, 1) and min(flipped) >= 0
    if by_correlation:
        gx = forward(gy, weight[..., ::-1, ::-1],
                     (kernel, stride, flipped, dilation, tuple(x_shape[2:]), groups), blocks)

    def one_block(block):
        g = gy[block].reshape(-1, c, 1, p)                            # (B, C, 1, P)
        if weight is not None and not by_correlation:
            gcols = xp.matmul(weight.reshape(c, -1, 1), g)            # (B, C, K, P)
            gcols = gcols.reshape((-1, c) + tuple(kernel) + tuple(out_size))
            gx[block] = col2im(gcols.transpose(0, 2, 3, 1, 4, 5), x_shape[2:], kernel,
                               stride, dilation, padding)
        if x is not None:                                             # (B, C, 1, K), over B
            cols = _columns(x[block], geometry)
            return xp.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    parts = parallel_for(one_block, blocks)
    gw = None
    if x is not None:                         # summed in block order: the same every run
        gw = parts[0]
        for part in parts[1:]:
            gw = gw + part
        gw = gw.reshape((c, 1) + tuple(kernel))
    return gx, gw
