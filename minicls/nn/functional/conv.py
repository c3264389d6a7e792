"""2-D convolution as one ``Function`` whose forward and backward are three GEMMs (BLAS).

The layout (G groups, Cg = C/G input and Og = O/G output channels per group,
K = Cg*KH*KW, P = OH*OW)::

    cols = im2col(x)  as (G, K, N*P)      every window of every image, batch *inside* a row
    y    = W @ cols                       (G, Og, K) @ (G, K, N*P) -> (G, Og, N*P) = (O, N, OH, OW)
    dW^T = cols @ gy^T                    (G, K, N*P) @ (G, N*P, Og) -> (G, K, Og)
    dcols = W^T @ gy                      (G, K, Og) @ (G, Og, N*P) -> (G, K, N*P);  dx = col2im(dcols)

With stride 1, dx is itself a convolution (of gy with W flipped in space, in/out channels
swapped), and the backward computes it as one: the same im2col + GEMM as forward, faster than
the col2im route (see ``_grad_input_by_correlation``). Strided convs take the col2im route.

Each GEMM reads ``cols`` as it lies in memory (``cols^T`` is a transposed *view*, which BLAS
reads without a copy): the transposing copy of this big tensor is where naive NumPy convs
lose most of their time. Putting the batch inside the columns (C, KH, KW, N, OH, OW) rather
than in front (N, C, KH, KW, OH, OW) makes dW one GEMM summing over all N*P positions, instead
of N per-image products to be summed afterwards. Groups (and depthwise, G = C) are the leading
batch axis of ``matmul``; depthwise convs (one filter per channel) skip the grouped GEMMs
and take ``depthwise.py``'s per-image products over whole rows of the padded image.

**Cache blocking.** The columns are KH*KW times the size of the input: 75 MB for a batch of
128 images of 16 channels at 32x32. Built for the whole batch at once, they are written to
main memory by im2col and read back by the GEMM, and every such fresh allocation costs page
faults. So on the CPU the batch is cut into blocks of images whose columns fit in about
``BLOCK_BYTES`` (a few MB, inside the L3 cache) and each block goes through im2col -> GEMM ->
transpose while its columns are still in cache. Measured on 2 cores: 1.5-2.5x faster for the
small-channel convs of a CIFAR ResNet. Backward rebuilds each block's columns instead of keeping
them from forward (that would be 1 GB at ResNet-18, batch 64). On a GPU there is one block.

**Threads.** The blocks are independent, so ``minicls.parallel.parallel_for`` runs them on all
cores, each thread with a single-threaded GEMM, as PyTorch does. Then the copies around the
GEMMs run in parallel too, not only the GEMMs. The number of blocks is rounded up to a
multiple of the thread count, so each thread gets its share, and the dW partial sums are added
in block order, so the result is the same from run to run for a given thread count.

**Winograd.** For 3x3 stride-1 convs, ``_correlate`` (so forward and the stride-1 dx) and the
weight gradient may instead use Winograd F(2x2, 3x3) or F(4x4, 3x3) (``winograd.py``: 2.25x or
4x fewer multiplies), as ``minicls.backends.conv_algorithm`` decides (``_winograd_tile``); im2col
stays the fallback.

Explained in tutorials/05_convolution.md.
"""
import logging

import numpy as np

from ... import backends
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...parallel import batch_blocks, parallel_for
from ...utils import to_2tuple
from . import depthwise
from . import winograd
from .im2col import col2im, im2col

BLOCK_BYTES = 8 * 2**20


def _conv(lib, x, w, b=None, **kw):
    return lib.nn.functional.conv2d(x, w, b, **kw)


class Conv2d(Function):
    """y[n, o] = b[o] + sum_{c, i, j} W[o, c, i, j] * x_pad[n, c, oh*SH + i*DH, ow*SW + j*DW]
    (c running over the input channels of o's group). Inputs x (N, C, H, W), weight
    (O, C/G, KH, KW), optional bias (O,); output (N, O, OH, OW).

    Plain reference: minicls.nn.functional.reference.conv2d (and conv2d_backward)."""
    cases = [
        OpCase(lambda lib, x, w: _conv(lib, x, w, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3)],
               name='3x3-pad1'),
        OpCase(lambda lib, x, w, b: _conv(lib, x, w, b, stride=2), [(2, 2, 7, 6), (3, 2, 3, 2),
               (3,)], name='nonsquare-stride2-untiled-bias'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, stride=(2, 1), padding=(1, 2), dilation=2),
               [(1, 1, 7, 6), (2, 1, 2, 3)], name='batch1-onechannel-dilation'),
        OpCase(lambda lib, x, w, b: _conv(lib, x, w, b, groups=2, padding=1),
               [(2, 4, 4, 5), (6, 2, 3, 3), (6,)], name='groups2'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, groups=3, stride=2, padding=1),
               [(2, 3, 5, 5), (3, 1, 3, 3)], name='depthwise'),
        OpCase(lambda lib, x, w, b: _conv(lib, x, w, b, groups=4, padding=1),
               [(3, 4, 5, 6), (4, 1, 3, 3), (4,)], name='depthwise-3x3-pad1-bias'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, groups=2, padding='same', dilation=(2, 1)),
               [(1, 2, 6, 5), (2, 1, 2, 3)], name='depthwise-same-dilation'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, groups=2, padding=1),
               [(2, 2, 4, 4), (4, 1, 3, 3)], name='channel-multiplier-2-gemm'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, padding='same', dilation=(1, 2)),
               [(1, 2, 4, 5), (2, 2, 2, 2)], name='same-even-kernel'),
        OpCase(lambda lib, x, w: _conv(lib, x, w), [(2, 3, 4, 4), (5, 3, 1, 1)], name='1x1'),
        OpCase(lambda lib, x, w: _conv(lib, x, w, padding=(2, 1)), [(2, 3, 3, 4), (2, 3, 2, 3)],
               name='padding-wider-than-kernel-col2im'),
        OpCase(lambda lib, x, w, b: _conv(lib, x, w, b, padding=(0, 1)),
               [(3, 2, 5, 4), (2, 2, 3, 3), (2,)], name='3x3-odd-output-bias'),  # Winograd tiles
    ]

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, groups):
        kh, kw = weight.shape[2:]
        out_size = _conv_output_size(x.shape[2:], (kh, kw), stride, padding, dilation)
        geometry = ((kh, kw), stride, padding, dilation, out_size, groups)
        is_depthwise = depthwise.is_depthwise(x.shape, weight.shape, groups)
        if is_depthwise:
            y = depthwise.forward(x, weight, geometry,
                                  _blocks(x, geometry, budget=depthwise.BLOCK_BYTES))
        else:
            y = _correlate(x, weight, geometry)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        if ctx.needs_input_grad:
            ctx.geometry, ctx.x_shape, ctx.has_bias = geometry, x.shape, bias is not None
            ctx.depthwise = is_depthwise
            ctx.w_shape = weight.shape
            ctx.weight = weight if ctx.needs_input_grad[0] else None
            ctx.x = x if ctx.needs_input_grad[1] else None
        return y

    @staticmethod
    def backward(ctx, gy):
        need_x, need_w = ctx.needs_input_grad[:2]
        gx = gw = gb = None
        if ctx.depthwise:
            at_input = ctx.geometry[:4] + (tuple(ctx.x_shape[2:]),) + ctx.geometry[5:]
            gx, gw = depthwise.backward(gy, ctx.x, ctx.weight, ctx.geometry, ctx.x_shape,
                                        _blocks(gy, at_input, ctx.x_shape[1],  # dx's columns
                                                budget=depthwise.BLOCK_BYTES))
        elif need_x:
            gx = _grad_input_by_correlation(gy, ctx.weight, ctx.geometry, ctx.x_shape)
            if gx is None:   # strided, or a padding wider than the kernel's reach
                gx = _grad_input_by_col2im(gy, ctx.weight, ctx.geometry, ctx.x_shape)
        tile = _winograd_tile(ctx.x, ctx.w_shape, ctx.geometry) if need_w else None
        if need_w and gw is None and tile:
            gw = winograd.winograd_grad_weight(gy, ctx.x, ctx.geometry[2], tile)
        elif need_w and gw is None:
            gw = _grad_weight(gy, ctx.x, ctx.geometry)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if ctx.has_bias else (gx, gw)


def _correlate(x, weight, geometry):
    """y = W @ im2col(x), block by block on the pool's threads: (N, C, H, W) -> (N, O, OH, OW).
    Winograd instead where ``minicls.backends.conv_algorithm`` picks it (``_winograd_tile``)."""
    xp = get_array_module(x)
    tile = _winograd_tile(x, weight.shape, geometry)
    if tile:
        return winograd.winograd_conv2d(x, weight, geometry[2], tile)
    o, cg, kh, kw = weight.shape
    g, out_size = geometry[5], geometry[4]
    w_mat = weight.reshape(g, o // g, cg * kh * kw)
    y = xp.empty((x.shape[0], o) + out_size, dtype=xp.result_type(x.dtype, weight.dtype))

    def one_block(block):
        y_block = xp.matmul(w_mat, _columns(x[block], geometry))  # (G, Og, B*P)
        y[block] = y_block.reshape(o, -1, *out_size).transpose(1, 0, 2, 3)
    parallel_for(one_block, _blocks(x, geometry))
    return y


def _winograd_tile(x, weight_shape, geometry):
    """The Winograd output tile ``_correlate`` and the weight gradient use: None (im2col), 2
    for F(2x2, 3x3) or 4 for F(4x4, 3x3). Never with 'im2col'; 2 or 4 with 'winograd' or
    'winograd_4x4' where Winograd applies (other convs keep im2col, logged at debug level);
    with 'auto', on the CPU, what ``winograd.auto_tile`` (a rule measured on 2 cores) says."""
    algorithm = backends.get_conv_algorithm()
    if algorithm == 'im2col':
        return None
    kernel, stride, padding, dilation, out_size, groups = geometry
    if not winograd.supports(weight_shape, stride, dilation, groups):
        if algorithm != 'auto':
            logging.getLogger(__name__).debug(
                'conv_algorithm=%s: im2col for kernel %s, stride %s, dilation %s, groups %d '
                '(Winograd needs 3x3, stride 1, dilation 1, groups 1)',
                algorithm, kernel, stride, dilation, groups)
        return None
    if algorithm != 'auto':
        return 4 if algorithm == 'winograd_4x4' else 2
    if get_array_module(x) is not np:
        return None
    return winograd.auto_tile(x.shape[1], weight_shape[0], out_size)


def _grad_input_by_correlation(gy, weight, geometry, x_shape):
    """dx of a stride-1 conv, as a conv of gy: None for a strided conv.

    With stride 1, dx[c, h] = sum_{o, i} gy[o, h + pad_top - i*DH] * W[o, c, i] (one axis shown):
    a correlation of gy, padded by DH*(KH-1) - pad_top above and DH*(KH-1) - pad_bottom below,
    with W flipped in space and its in and out channels swapped (per group). That is the
    forward conv again: im2col's KH*KW copies replace col2im's zero fill and KH*KW in-place
    adds, and the GEMM writes C rows instead of C*KH*KW (dx 1.4-1.6x faster on 2 cores for
    the 3x3 convs of a CIFAR ResNet). A padding wider than the kernel's reach (a negative
    padding here) is left to col2im.
    """
    kernel, stride, padding, dilation, _, g = geometry
    spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
    flipped_padding = (spans[0] - padding[0], spans[0] - padding[1],
                       spans[1] - padding[2], spans[1] - padding[3])
    if stride != (1, 1) or min(flipped_padding) < 0:
        return None
    o, cg, kh, kw = weight.shape
    w_flipped = weight.reshape(g, o // g, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    w_flipped = w_flipped.reshape(g * cg, o // g, kh, kw)                  # (C, O/G, KH, KW)
    flipped = (kernel, stride, flipped_padding, dilation, tuple(x_shape[2:]), g)
    return _correlate(gy, w_flipped, flipped)


def _grad_input_by_col2im(gy, weight, geometry, x_shape):
    """dx of any conv: dcols = W^T @ gy, then dx = col2im(dcols), block by block."""
    xp = get_array_module(gy)
    kernel, stride, padding, dilation, out_size, g = geometry
    o, c = weight.shape[0], x_shape[1]
    w_mat_t = weight.reshape(g, o // g, -1).transpose(0, 2, 1)           # (G, K, Og)
    gx = xp.empty(x_shape, dtype=gy.dtype)

    def one_block(block):
        gcols = xp.matmul(w_mat_t, _gemm_layout(gy[block], g))           # (G, K, B*P)
        gcols = gcols.reshape((c,) + kernel + (-1,) + out_size)       # (C, KH, KW, B, OH, OW)
        gx_block = col2im(gcols, x_shape[2:], kernel, stride, dilation, padding)
        gx[block] = gx_block.transpose(1, 0, 2, 3)                # (C, B, ..) -> (B, C, ..)
    parallel_for(one_block, _blocks(gy, geometry, c))
    return gx


def _grad_weight(gy, x, geometry):
    """dW^T = cols @ gy^T, summed over the blocks in block order (whichever thread finished
    first), so the result is the same from run to run. Backward rebuilds each block's columns.

    dW^T rather than dW = gy @ cols^T: the same numbers, but OpenBLAS runs this orientation
    steadily fast, the other sometimes 10x slower."""
    xp = get_array_module(gy)
    kernel, g = geometry[0], geometry[5]
    o, c = gy.shape[1], x.shape[1]

    def one_block(block):
        return xp.matmul(_columns(x[block], geometry),
                         _gemm_layout(gy[block], g).transpose(0, 2, 1))    # (G, K, Og)
    parts = parallel_for(one_block, _blocks(gy, geometry, c))
    gw_t = sum(parts[1:], parts[0])      # in block order: the same bits from run to run
    return gw_t.transpose(0, 2, 1).reshape((o, c // g) + kernel)


def _gemm_layout(gy, groups):
    """gy (B, O, OH, OW) as the GEMM operand (G, O/G, B*OH*OW): the batch inside the rows."""
    xp = get_array_module(gy)
    o = gy.shape[1]
    return xp.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(groups, o // groups, -1)


def _blocks(a, geometry, channels=None, budget=None):
    """Slices of the batch axis of ``a`` (``parallel.batch_blocks``): blocks of images whose
    im2col columns (``channels`` of them, default ``a``'s) stay under ``budget`` bytes
    (default ``BLOCK_BYTES``)."""
    kernel, out_size = geometry[0], geometry[4]
    c = channels or a.shape[1]
    per_image = c * kernel[0] * kernel[1] * out_size[0] * out_size[1] * a.itemsize
    return batch_blocks(a.shape[0], per_image, budget or BLOCK_BYTES, get_array_module(a))


def _columns(x, geometry):
    """im2col of x (B, C, H, W) in the (G, Cg*KH*KW, B*OH*OW) layout the GEMMs read."""
    kernel, stride, padding, dilation, out_size, groups = geometry
    c = x.shape[1]
    cols = im2col(x.transpose(1, 0, 2, 3), kernel, stride, dilation, padding, out_size)
    return cols.reshape(groups, c // groups * kernel[0] * kernel[1], -1)


def _conv_output_size(size, kernel, stride, padding, dilation):
    top, bottom, left, right = padding
    return tuple((s + p0 + p1 - d * (k - 1) - 1) // st + 1 for s, k, st, (p0, p1), d in
                 zip(size, kernel, stride, ((top, bottom), (left, right)), dilation))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, H, W) or (C, H, W)
    with ``weight`` (O, C/groups, KH, KW). ``stride``, ``padding`` and ``dilation`` are ints or
    pairs; ``padding`` may also be ``'valid'`` (0) or ``'same'`` (output size = input size,
    stride 1 only; an odd total padding puts the extra row/column at the bottom/right).
    Output size per axis: (size + 2*pad - dilation*(kernel-1) - 1) // stride + 1."""
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride, dilation = to_2tuple(stride, 'stride'), to_2tuple(dilation, 'dilation')
    _check_conv_args(input.shape, weight.shape, bias, stride, dilation, groups)
    padding = _conv_padding(padding, weight.shape[2:], stride, dilation)
    padded = (input.shape[2] + padding[0] + padding[1], input.shape[3] + padding[2] + padding[3])
    effective = tuple(d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation))
    if padded[0] < effective[0] or padded[1] < effective[1]:
        raise RuntimeError(f'conv2d: Calculated padded input size per channel: ({padded[0]} x '
                           f'{padded[1]}). Kernel size: ({effective[0]} x {effective[1]}). '
                           "Kernel size can't be greater than actual input size (pad the input "
                           'or use a smaller kernel)')
    backends.get_conv_algorithm()   # a bad setting fails here, not deep inside the op
    inputs = (input, weight) if bias is None else (input, weight, bias)
    out = Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation,
                       groups=groups)
    return out.squeeze(0) if unbatched else out


def _conv_padding(padding, kernel, stride, dilation):
    """``padding`` as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == 'valid':
            return (0, 0, 0, 0)
        if padding != 'same':
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                             f'{padding!r}')
        if stride != (1, 1):
            raise ValueError("conv2d: padding='same' is not supported for strided convolutions "
                             '(use stride=1, or give the padding as numbers)')
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
    ph, pw = to_2tuple(padding, 'padding')
    if ph < 0 or pw < 0:
        raise ValueError(f'conv2d: negative padding {padding!r} is not supported')
    return (ph, ph, pw, pw)


def _check_conv_args(x_shape, w_shape, bias, stride, dilation, groups):
    """PyTorch's shape checks, with its wording (plus how to fix it)."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise RuntimeError(f'conv2d: expected a 3D (C, H, W) or 4D (N, C, H, W) input and a 4D '
                           f'weight (O, C/groups, KH, KW), got input {x_shape} and weight '
                           f'{w_shape}')
    if groups < 1 or w_shape[0] % groups:
        raise RuntimeError(f'conv2d: Given groups={groups}, expected weight to be divisible by '
                           f'{groups} at dimension 0, but got weight of size {list(w_shape)} '
                           'instead')
    if x_shape[1] != w_shape[1] * groups:
        raise RuntimeError(f'conv2d: Given groups={groups}, weight of size {list(w_shape)}, '
                           f'expected input{list(x_shape)} to have {w_shape[1] * groups} '
                           f'channels, but got {x_shape[1]} channels instead')
    if bias is not None and tuple(bias.shape) != (w_shape[0],):
        raise RuntimeError(f'conv2d: bias of shape {tuple(bias.shape)} does not match the '
                           f'{w_shape[0]} output channels of weight {w_shape}; expected '
                           f'({w_shape[0]},)')
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f'conv2d: stride and dilation must be positive, got stride={stride}, '
                           f'dilation={dilation}')
