"""Plain reference versions of the fast kernels: conv2d, max_pool2d, avg_pool2d, batch_norm.

The ops in ``conv.py``, ``pooling.py`` and ``normalization.py`` are built for speed (im2col,
cache blocks, threads, dx computed as another conv). The functions here compute the same
numbers the way one would on a whiteboard: slide a window over the input, one output pixel at
a time. They are slow, so they are for reading and for testing: ``tests/test_nn/test_reference.py``
checks every fast op, forward and backward, against them, without PyTorch.

NumPy arrays in, NumPy arrays out; PyTorch's argument names and defaults. Each forward has
a ``*_backward(grad_output, <the forward's arguments>)`` beside it, written as the adjoint of
the forward loop: where the forward *reads* a window, the backward *adds* into it.

Notation: input x (N, C, H, W), kernel KH x KW, stride (SH, SW), dilation (DH, DW); output
pixel (p, q) reads rows p*SH + i*DH and columns q*SW + j*DW of the padded input, for each
kernel tap (i, j).

The conv loop is explained in tutorials/05_convolution.md, batch norm in
tutorials/06_batchnorm_and_init.md.
"""
import numpy as np


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _out_size(size, kernel, stride, pad_before, pad_after, dilation, ceil_mode=False):
    """Output length along one axis: how many windows fit (PyTorch's formula)."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1   # the last window must start inside the input or its left padding
    return out


# ---------------------------------------------------------------- conv2d

def _conv_padding(padding, kernel, dilation):
    """(top, bottom, left, right). 'same' pads dilation*(kernel-1) in total per axis, the
    odd row/column at the bottom/right (as PyTorch does)."""
    if padding == 'valid':
        return (0, 0, 0, 0)
    if padding == 'same':
        (kh, kw), (dh, dw) = kernel, dilation
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def _conv_windows(x_shape, w_shape, stride, padding, dilation):
    """Everything the conv loops need: the padding, the output size and, for every output
    pixel (p, q), the row and column slices of its window in the padded input."""
    kh, kw = w_shape[2:]
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    top, bottom, left, right = _conv_padding(padding, (kh, kw), (dh, dw))
    oh = _out_size(x_shape[2], kh, sh, top, bottom, dh)
    ow = _out_size(x_shape[3], kw, sw, left, right, dw)
    windows = [(p, q, slice(p * sh, p * sh + dh * (kh - 1) + 1, dh),
                slice(q * sw, q * sw + dw * (kw - 1) + 1, dw))
               for p in range(oh) for q in range(ow)]
    return (top, bottom, left, right), (oh, ow), windows


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """y[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x_pad[n, c, window(p, q)][i, j]

    with c running over the C/groups input channels of o's group. input (N, C, H, W),
    weight (O, C/groups, KH, KW), bias (O,) or None -> (N, O, OH, OW)."""
    x, w = np.asarray(input), np.asarray(weight)
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    og = o // groups                                    # output channels per group
    (top, bottom, left, right), (oh, ow), windows = _conv_windows(
        x.shape, w.shape, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    y = np.zeros((n, o, oh, ow), dtype=np.result_type(x, w))
    for g in range(groups):
        ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for p, q, rows, cols in windows:
            window = x_pad[:, ins, rows, cols]                        # (N, C/G, KH, KW)
            y[:, outs, p, q] = np.einsum('ncij,ocij->no', window, w[outs])
    if bias is not None:
        y += np.asarray(bias).reshape(1, o, 1, 1)
    return y


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                    dilation=1, groups=1):
    """(grad_input, grad_weight, grad_bias) of ``conv2d`` (grad_bias None without a bias).

    Every output pixel sent weight * window forward, so it sends grad back to both:
    grad_window += grad_output[:, :, p, q] . weight,
    grad_weight += grad_output[:, :, p, q] . window.
    """
    x, w, gy = np.asarray(input), np.asarray(weight), np.asarray(grad_output)
    h, wd = x.shape[2:]
    o, cg = w.shape[:2]
    og = o // groups
    (top, bottom, left, right), _, windows = _conv_windows(
        x.shape, w.shape, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    gx_pad, gw = np.zeros_like(x_pad, dtype=gy.dtype), np.zeros_like(w, dtype=gy.dtype)
    for g in range(groups):
        ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for p, q, rows, cols in windows:
            g_pq = gy[:, outs, p, q]                                  # (N, O/G)
            gx_pad[:, ins, rows, cols] += np.einsum('no,ocij->ncij', g_pq, w[outs])
            gw[outs] += np.einsum('no,ncij->ocij', g_pq, x_pad[:, ins, rows, cols])
    gx = gx_pad[:, :, top:top + h, left:left + wd]                    # drop the padding
    gb = gy.sum(axis=(0, 2, 3)) if bias is not None else None
    return gx, gw, gb


# ---------------------------------------------------------------- pooling

def _pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    out = tuple(_out_size(s, k, st, p, p, d, ceil_mode) for s, k, st, p, d in
                zip(x_shape[2:], kernel, stride, padding, dilation))
    return kernel, stride, padding, dilation, out


def _max_pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode):
    """x padded with -inf (a padded pixel never wins; the bottom/right also get the rows
    ceil_mode's last window may reach) and, per output pixel, the (row, column) index arrays
    of its KH x KW taps in the padded input."""
    kernel, stride, padding, dilation, (oh, ow) = _pool_geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    extra_h = max(0, sh * (oh - 1) + dh * (kh - 1) + 1 - x.shape[2] - 2 * ph)
    extra_w = max(0, sw * (ow - 1) + dw * (kw - 1) + 1 - x.shape[3] - 2 * pw)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)),
                   constant_values=-np.inf)
    windows = [(p, q, np.ix_(p * sh + dh * np.arange(kh), q * sw + dw * np.arange(kw)))
               for p in range(oh) for q in range(ow)]
    return x_pad, (ph, pw), (oh, ow), windows


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False):
    """y[n, c, p, q] = max of x_pad[n, c] over the KH x KW taps of window (p, q), -inf padded.
    ``stride`` defaults to ``kernel_size``."""
    x = np.asarray(input)
    x_pad, _, (oh, ow), windows = _max_pool_windows(x, kernel_size, stride, padding,
                                                    dilation, ceil_mode)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for p, q, taps in windows:
        y[:, :, p, q] = x_pad[:, :, taps[0], taps[1]].max(axis=(2, 3))
    return y


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0,  # noqa: A002
                        dilation=1, ceil_mode=False):
    """grad_input of ``max_pool2d``: each window's grad goes to the pixel that won its max
    (on a tie, the first in row-major order, as in PyTorch)."""
    x, gy = np.asarray(input), np.asarray(grad_output)
    x_pad, (ph, pw), _, windows = _max_pool_windows(x, kernel_size, stride, padding,
                                                    dilation, ceil_mode)
    gx_pad = np.zeros_like(x_pad, dtype=gy.dtype)
    for p, q, taps in windows:
        window = x_pad[:, :, taps[0], taps[1]]                      # (N, C, KH, KW)
        flat = window.reshape(window.shape[:2] + (-1,))
        winner = np.arange(flat.shape[2]) == flat.argmax(axis=2)[..., None]  # the first max
        gx_pad[:, :, taps[0], taps[1]] += (winner * gy[:, :, p, q, None]).reshape(window.shape)
    return gx_pad[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def _avg_pool_windows(x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override):
    """Per output pixel (p, q): the rows and columns of its window inside the input, and the
    divisor: ``divisor_override``, else the window's size clipped to the padded input
    (``count_include_pad``) or to the input itself."""
    kernel, stride, padding, _, (oh, ow) = _pool_geometry(
        x_shape, kernel_size, stride, padding, 1, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (h, w) = kernel, stride, padding, x_shape[2:]
    windows = []
    for p in range(oh):
        for q in range(ow):
            top, left = p * sh - ph, q * sw - pw                    # may lie in the padding
            bottom, right = min(top + kh, h + ph), min(left + kw, w + pw)
            rows = slice(max(top, 0), min(bottom, h))
            cols = slice(max(left, 0), min(right, w))
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:
                divisor = (bottom - top) * (right - left)
            else:
                divisor = (rows.stop - rows.start) * (cols.stop - cols.start)
            windows.append((p, q, rows, cols, divisor))
    return (oh, ow), windows


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """y[n, c, p, q] = (sum of the input pixels in window (p, q)) / divisor; the padding
    adds zeros. ``stride`` defaults to ``kernel_size``."""
    x = np.asarray(input)
    (oh, ow), windows = _avg_pool_windows(x.shape, kernel_size, stride, padding, ceil_mode,
                                          count_include_pad, divisor_override)
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for p, q, rows, cols, divisor in windows:
        y[:, :, p, q] = x[:, :, rows, cols].sum(axis=(2, 3)) / divisor
    return y


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0,  # noqa: A002
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """grad_input of ``avg_pool2d``: each window spreads grad / divisor over its pixels."""
    x, gy = np.asarray(input), np.asarray(grad_output)
    _, windows = _avg_pool_windows(x.shape, kernel_size, stride, padding, ceil_mode,
                                   count_include_pad, divisor_override)
    gx = np.zeros(x.shape, dtype=gy.dtype)
    for p, q, rows, cols, divisor in windows:
        gx[:, :, rows, cols] += (gy[:, :, p, q] / divisor)[:, :, None, None]
    return gx


# ---------------------------------------------------------------- batch_norm

def _per_channel(a, ndim):
    """A (C,) array shaped (1, C, 1, ...) to broadcast against an input of ``ndim`` axes."""
    return np.asarray(a).reshape((1, -1) + (1,) * (ndim - 2))


def _bn_stats(x, running_mean, running_var, training):
    """mean and var (C,), the batch's (biased var) when training, else the running ones."""
    axes = (0,) + tuple(range(2, x.ndim))              # every axis but the channels
    if training:
        return x.mean(axis=axes), x.var(axis=axes), axes
    return np.asarray(running_mean), np.asarray(running_var), axes


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel of x (N, C, *S).

    training: mean and var of the batch, and ``running_mean``/``running_var`` (arrays, or
    None) are updated in place: running = (1 - momentum) * running + momentum * batch stat,
    with the unbiased variance (m / (m - 1), m values per channel). Eval: the running stats.
    """
    x = np.asarray(input)
    mean, var, _ = _bn_stats(x, running_mean, running_var, training)
    if training:
        m = x.size // x.shape[1]
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            running_var[...] = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    y = (x - _per_channel(mean, x.ndim)) / np.sqrt(_per_channel(var, x.ndim) + eps)
    if weight is not None:
        y = y * _per_channel(weight, x.ndim)
    if bias is not None:
        y = y + _per_channel(bias, x.ndim)
    return y


def batch_norm_backward(grad_output, input, running_mean, running_var, weight=None,  # noqa: A002
                        bias=None, training=False, momentum=0.1, eps=1e-5):
    """(grad_input, grad_weight, grad_bias) of ``batch_norm`` (None for a missing weight or
    bias), by the chain rule one step at a time. In training, mean and var depend on x too:

        xhat = (x - mean) * inv_std,   inv_std = (var + eps)^-1/2,   y = xhat * weight + bias
        dxhat = dy * weight
        dvar  = sum(dxhat * (x - mean)) * -1/2 * inv_std^3
        dmean = -sum(dxhat) * inv_std          (the dvar path adds -2/m * sum(x - mean) = 0)
        dx    = dxhat * inv_std + dvar * 2 (x - mean) / m + dmean / m
    """
    x, gy = np.asarray(input), np.asarray(grad_output)
    mean, var, axes = _bn_stats(x, running_mean, running_var, training)
    xc = x - _per_channel(mean, x.ndim)
    inv_std = _per_channel(1 / np.sqrt(var + eps), x.ndim)
    dxhat = gy * _per_channel(weight, x.ndim) if weight is not None else gy
    gx = dxhat * inv_std
    if training:
        m = x.size // x.shape[1]
        dvar = (dxhat * xc).sum(axis=axes, keepdims=True) * -0.5 * inv_std ** 3
        dmean = -dxhat.sum(axis=axes, keepdims=True) * inv_std
        gx = gx + dvar * 2 * xc / m + dmean / m
    gw = (gy * xc * inv_std).sum(axis=axes) if weight is not None else None
    gb = gy.sum(axis=axes) if bias is not None else None
    return gx, gw, gb
