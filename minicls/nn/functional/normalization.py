"""Normalisation layers: batch_norm, layer_norm, group_norm (``minicls.nn.functional``).

All three compute ``xhat = (x - mean) / sqrt(var + eps)`` over some axes (biased variance), then
``y = xhat * weight + bias`` per channel (or per feature). They differ only in which axes the
statistics are taken over:

    batch_norm  (N, C, *S): per channel, over N and S      -> stats of shape (C,)
    layer_norm  (*, *D):    per sample, over the last dims -> stats of shape (*,)
    group_norm  (N, C, *S): per sample and group of C/G channels, over those channels and S

Each is one ``Function`` with the closed-form backward. With m the number of elements a
statistic averages over and dxhat = dy * weight::

    dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
    dweight = sum(dy * xhat),   dbias = sum(dy)      (sums over everything but the channel)

Missing ``weight``/``bias`` are passed as ones/zeros, which costs nothing extra in batch_norm
(the affine transform is folded into one per-channel scale and shift).

Explained in tutorials/06_batchnorm_and_init.md.
"""
import numbers

import numpy as np

from ... import backend
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...parallel import parallel_for, split
from ...tensor import Tensor

PARALLEL_MIN_SIZE = 2**20
BLOCK = 2**19   # elements (2 MiB of float32) in a block of images of batch_norm's passes


# -- batch_norm -----------------------------------------------------------------------------------
def _bn_train(lib, x, w, b):
    """OpCase helper: training batch norm with fresh running stats (built with ``lib.tensor``
    so that the device tests put them on the input's device)."""
    c = x.shape[1]
    mean, var = lib.tensor([0.0] * c), lib.tensor([1.0] * c)
    return lib.nn.functional.batch_norm(x, mean, var, w, b, training=True)


def _bn_eval(lib, x, w, b):
    mean, var = lib.tensor([0.1, -0.2, 0.3]), lib.tensor([0.5, 1.0, 2.0])
    return lib.nn.functional.batch_norm(x, mean, var, w, b, training=False)


class BatchNorm(Function):
    """Batch normalisation over every axis but 1 of ``x`` (N, C) or (N, C, *S).

    training: mean/var are the batch statistics over m = N * prod(S) elements per channel;
        ``running_mean``/``running_var`` (arrays or None) are updated in place:
        running = (1 - momentum) * running + momentum * batch_stat (unbiased batch variance).
    eval: mean/var are the running statistics, so y = x * scale + shift is affine in x and
        dx = dy * scale.

    The work happens on a (N, C, L) view of x: ``einsum('ncl->c')`` sums per channel without
    transposing copies. The channels are independent, so on the CPU each thread takes a block
    of them (``minicls.parallel``); NumPy's element-wise passes would otherwise run on one
    core. A thread goes through its channels in blocks of images that stay in the cache
    (``_image_blocks``), with per-channel values spread along rows (``_rows``). Training
    allocates one full-size array a pass: xc = x - mean is made in y's (forward) and dx's
    (backward) memory, and x is saved (xc would be one more array, alive until backward).

    Plain reference: minicls.nn.functional.reference.batch_norm (and batch_norm_backward).
    """
    cases = [OpCase(_bn_train, [(4, 3), (3,), (3,)], name='train-NC'),
             OpCase(_bn_train, [(2, 3, 3, 2), (3,), (3,)], name='train-NCHW', atol=1e-4),
             OpCase(_bn_train, [(1, 2, 3, 1), (2,), (2,)], name='train-batch1', atol=1e-4),
             OpCase(lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True),
                    [(3, 2, 4)], name='train-no-affine-no-stats', atol=1e-4),
             OpCase(_bn_eval, [(2, 3, 2, 2), (3,), (3,)], name='eval'),
             OpCase(lambda lib, x: lib.nn.functional.batch_norm(
                 x, lib.tensor([0.5, -1.0]), lib.tensor([2.0, 0.25])), [(3, 2)],
                 name='eval-no-affine')]

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5):
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)                        # (N, C, L): a view for contiguous x
        m = x3.shape[0] * x3.shape[2]
        ctx.training, ctx.shape = training, x.shape
        if training:
            y = xp.empty(x3.shape, xp.result_type(x3, weight))
            mean, var, inv_std = (xp.empty(c, x3.dtype) for _ in range(3))
            images = _image_blocks(x3, xp)

            def one_block(cs):  # the channels cs: the same steps as for all channels at once
                mean[cs] = xp.einsum('ncl->c', x3[:, cs]) / m
                mean_rows, square_sum = _rows(mean[cs], x3), 0
                for i in images:  # xc = x - mean, in y
                    xc = xp.subtract(x3[i, cs], mean_rows, out=y[i, cs])
                    square_sum = square_sum + xp.einsum('ncl,ncl->c', xc, xc)
                var[cs] = square_sum / m  # biased
                inv_std[cs] = 1 / xp.sqrt(var[cs] + eps)
                scale, shift = _rows(weight[cs] * inv_std[cs], x3), _rows(bias[cs], x3)
                for i in images:  # y = xc * scale + bias
                    y_i = y[i, cs]
                    y_i *= scale
                    y_i += shift
            parallel_for(one_block, _channel_blocks(x3, xp))
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * m / max(m - 1, 1)) * var  # unbiased
            ctx.save_for_backward(x3, mean, inv_std, weight)
            return y.reshape(x.shape)
        inv_std = 1 / xp.sqrt(running_var.astype(x.dtype, copy=False) + eps)
        mean = running_mean.astype(x.dtype, copy=False)
        scale = weight * inv_std
        y = x3 * scale[:, None]
        y += (bias - mean * scale)[:, None]
        need_w = bool(ctx.needs_input_grad) and ctx.needs_input_grad[1]
        ctx.save_for_backward(x3 if need_w else None, mean, inv_std, weight)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        need_x, need_w, need_b = ctx.needs_input_grad
        g3 = gy.reshape(ctx.shape[0], ctx.shape[1], -1)
        if ctx.training:
            x3, mean, inv_std, weight = ctx.saved_tensors
            m, c = x3.shape[0] * x3.shape[2], x3.shape[1]
            sum_dy, sum_dy_xc = xp.empty(c, g3.dtype), xp.empty(c, g3.dtype)
            gx = xp.empty(x3.shape, xp.result_type(g3, x3, weight)) if need_x else None
            images = _image_blocks(x3, xp)

            def one_block(cs):  # the channels cs
                mean_rows, s_dy, s_dy_xc = _rows(mean[cs], x3), 0, 0
                for i in images:  # xc = x - mean, in gx if there is one
                    xc = xp.subtract(x3[i, cs], mean_rows, out=gx[i, cs] if need_x else None)
                    s_dy = s_dy + xp.einsum('ncl->c', g3[i, cs])
                    s_dy_xc = s_dy_xc + xp.einsum('ncl,ncl->c', g3[i, cs], xc)
                sum_dy[cs], sum_dy_xc[cs] = s_dy, s_dy_xc
                if not need_x:
                    return
                k1 = _rows(weight[cs] * inv_std[cs], x3)  # dx = k1 (dy - sum(dy) / m - xc k2)
                k2 = _rows(inv_std[cs] * inv_std[cs] * sum_dy_xc[cs] / m, x3)
                mean_dy = _rows(sum_dy[cs] / m, x3)
                for i in images:  # in place in gx, which holds xc
                    gx_i = gx[i, cs]
                    gx_i *= k2
                    gx_i += mean_dy
                    xp.subtract(g3[i, cs], gx_i, out=gx_i)
                    gx_i *= k1
            parallel_for(one_block, _channel_blocks(x3, xp))
            gx = gx.reshape(ctx.shape) if need_x else None
            gw = sum_dy_xc * inv_std if need_w else None
            return gx, gw, sum_dy if need_b else None
        sum_dy = xp.einsum('ncl->c', g3)
        x3, mean, inv_std, weight = ctx.saved_tensors
        gx = (g3 * (weight * inv_std)[:, None]).reshape(ctx.shape) if need_x else None
        gw = None
        if need_w:  # sum(dy * xhat) = (sum(dy * x) - mean * sum(dy)) * inv_std
            gw = (xp.einsum('ncl,ncl->c', g3, x3) - mean * sum_dy) * inv_std
        return gx, gw, sum_dy if need_b else None


def _channel_blocks(x3, xp):
    """Blocks of channels, one per thread, for an (N, C, L) array of at least
    ``PARALLEL_MIN_SIZE`` elements; below that a pass takes well under a millisecond and the
    threads cost more than they save (measured on 2 cores), so all channels in one block."""
    return split(x3.shape[1], xp) if x3.size >= PARALLEL_MIN_SIZE else [slice(None)]


def _image_blocks(x3, xp):
    """Slices of the N axis of an (N, C, L) array, of about ``BLOCK`` elements (one image at
    least): a thread makes its steps block by block, so that each block is read from main
    memory once for several steps. The cut depends on the shape alone, not on the thread
    count, so neither do the sums. One block on a GPU (one kernel a step)."""
    n = x3.shape[0]
    step = max(1, BLOCK // max(1, x3.shape[1] * x3.shape[2])) if xp is np else n
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _rows(values, x3):
    """Per-channel ``values`` (C,) as an array (C, L) of rows, to act on an (N, C, L) array.
    ``values[:, None]`` would do the same, but NumPy then works in rows of L elements, with a
    fixed cost per row that is most of the time for small images (L = 8 x 8); with a (C, L)
    operand, each image's C * L elements are one run (about twice as fast at L = 64)."""
    return get_array_module(values).repeat(values, x3.shape[2]).reshape(-1, x3.shape[2])


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation of ``input`` (N, C) or (N, C, *S) per channel C.

    Training uses the batch statistics and, if given, updates ``running_mean``/``running_var``
    (Tensors of shape (C,)) in place with PyTorch's rule and the unbiased batch variance. Eval
    (``training=False``) normalises with the running statistics.

    ``momentum=None`` (cumulative average) is handled by ``nn.BatchNorm*``, as in PyTorch: it
    passes ``momentum=1 / num_batches_tracked`` here.
    """
    if input.ndim < 2:
        raise ValueError(f'batch_norm: expected input of shape (N, C) or (N, C, ...), got '
                         f'{tuple(input.shape)}')
    c = input.shape[1]
    if momentum is None:
        raise TypeError('batch_norm: momentum must be a float; for a cumulative average pass '
                        'momentum=1/num_batches_tracked (what nn.BatchNorm does for None)')
    if training:
        per_channel = input.numel() // c if c else 0
        if per_channel <= 1:
            raise ValueError('batch_norm: expected more than 1 value per channel when training, '
                             f'got input of shape {tuple(input.shape)}; use a batch of 2 or '
                             'more, or eval mode')
    elif running_mean is None or running_var is None:
        raise ValueError('batch_norm: running_mean and running_var are needed when '
                         'training=False (or pass training=True to use batch statistics)')
    for name, t in (('running_mean', running_mean), ('running_var', running_var),
                    ('weight', weight), ('bias', bias)):
        if t is not None:
            _check_param(name, t, (c,), input, 'batch_norm')
    weight, bias = _affine(input, weight, bias, (c,))
    return BatchNorm.apply(input, weight, bias,
                           running_mean=None if running_mean is None else running_mean.data,
                           running_var=None if running_var is None else running_var.data,
                           training=bool(training), momentum=momentum, eps=eps)


# -- layer_norm and group_norm --------------------------------------------------------------------
def _normalize(x3, eps):
    """xhat and inv_std of ``x3``, normalised over its last axis."""
    xp = get_array_module(x3)
    mean = x3.mean(axis=-1, keepdims=True)
    xc = x3 - mean
    inv_std = 1 / xp.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    xc *= inv_std
    return xc, inv_std


def _normalize_backward(dxhat, xhat, inv_std):
    """dx from dxhat for a normalisation over the last axis (the closed form above)."""
    mean_dxhat = dxhat.mean(axis=-1, keepdims=True)
    mean_dxhat_xhat = (dxhat * xhat).mean(axis=-1, keepdims=True)
    return inv_std * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, stats over the last ``ndim`` axes
    (the shape of ``weight``): x is viewed as (M, D)."""
    cases = [OpCase(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (4,), w, b),
                    [(3, 4), (4,), (4,)]),
             OpCase(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, [2, 3], w, b),
                    [(2, 2, 3), (2, 3), (2, 3)], name='2-dims'),
             OpCase(lambda lib, x: lib.nn.functional.layer_norm(x, (5,)), [(2, 5)],
                    name='no-affine')]

    @staticmethod
    def forward(ctx, x, weight, bias, eps=1e-5):
        d = weight.size
        xhat, inv_std = _normalize(x.reshape(-1, d), eps)
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.shape = x.shape
        return (xhat * weight.reshape(-1) + bias.reshape(-1)).reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xhat, inv_std, weight = ctx.saved_tensors
        g2 = gy.reshape(xhat.shape)
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = (_normalize_backward(g2 * weight.reshape(-1), xhat, inv_std).reshape(ctx.shape)
              if need_x else None)
        gw = (g2 * xhat).sum(axis=0).reshape(weight.shape) if need_w else None
        gb = g2.sum(axis=0).reshape(weight.shape) if need_b else None
        return gx, gw, gb


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalise over the last ``len(normalized_shape)`` axes of ``input``; ``weight`` and
    ``bias`` have shape ``normalized_shape``."""
    shape = ((normalized_shape,) if isinstance(normalized_shape, numbers.Integral)
             else tuple(normalized_shape))
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise ValueError(f'layer_norm: normalized_shape {list(shape)} does not match the last '
                         f'dimensions of the input of shape {tuple(input.shape)}')
    for name, t in (('weight', weight), ('bias', bias)):
        if t is not None:
            _check_param(name, t, shape, input, 'layer_norm')
    weight, bias = _affine(input, weight, bias, shape)
    return LayerNorm.apply(input, weight, bias, eps=eps)


class GroupNorm(Function):
    """Group normalisation of x (N, C, *S): stats per sample over each group of C/G channels
    and S (x viewed as (N, G, C/G * L)); then a per-channel affine transform."""
    cases = [OpCase(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 2, w, b),
                    [(2, 4, 3), (4,), (4,)]),
             OpCase(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b),
                    [(1, 3, 2, 2), (3,), (3,)], name='group-per-channel'),
             OpCase(lambda lib, x: lib.nn.functional.group_norm(x, 1), [(2, 4, 2, 1)],
                    name='one-group-no-affine')]

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps=1e-5):
        n, c = x.shape[0], x.shape[1]
        xhat, inv_std = _normalize(x.reshape(n, num_groups, -1), eps)
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.shape = x.shape
        y = xhat.reshape(n, c, -1) * weight[:, None] + bias[:, None]
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xhat, inv_std, weight = ctx.saved_tensors
        n, c = ctx.shape[0], ctx.shape[1]
        g3 = gy.reshape(n, c, -1)
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = None
        if need_x:
            dxhat = (g3 * weight[:, None]).reshape(xhat.shape)
            gx = _normalize_backward(dxhat, xhat, inv_std).reshape(ctx.shape)
        gw = (g3 * xhat.reshape(g3.shape)).sum(axis=(0, 2)) if need_w else None
        gb = g3.sum(axis=(0, 2)) if need_b else None
        return gx, gw, gb


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Group normalisation of ``input`` (N, C, *S) with C divisible by ``num_groups``;
    ``weight``/``bias`` have shape (C,)."""
    if input.ndim < 2:
        raise ValueError(f'group_norm: expected input of shape (N, C, ...), got '
                         f'{tuple(input.shape)}')
    c = input.shape[1]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f'group_norm: the number of channels ({c}) must be divisible by '
                         f'num_groups ({num_groups})')
    for name, t in (('weight', weight), ('bias', bias)):
        if t is not None:
            _check_param(name, t, (c,), input, 'group_norm')
    weight, bias = _affine(input, weight, bias, (c,))
    return GroupNorm.apply(input, weight, bias, num_groups=num_groups, eps=eps)


# -- helpers --------------------------------------------------------------------------------------
def _check_param(name, t, shape, input, op):  # noqa: A002
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f'{op}: {name} should have shape {tuple(shape)} for an input of shape '
                         f'{tuple(input.shape)}, got {tuple(t.shape)}')
    if t.device != input.device:
        raise RuntimeError(f'{op}: {name} is on {t.device} but the input is on {input.device}; '
                           'move them with .to(device) (or model.to(device)) first')


def _affine(input, weight, bias, shape):  # noqa: A002
    """``weight``/``bias`` in the input's dtype, ones/zeros (no gradient) where None."""
    xp = backend.get_array_module(input.data)
    if weight is None:
        weight = Tensor(xp.ones(shape, dtype=input.dtype))
    if bias is None:
        bias = Tensor(xp.zeros(shape, dtype=input.dtype))
    return weight, bias



def normalize(input, p=2.0, dim=1, eps=1e-12):  # noqa: A002
    """``input / max(norm_p(input along dim), eps)``: unit p-norm vectors along ``dim``."""
    from ...functional_extra import norm
    return input / norm(input, p, dim=dim, keepdim=True).clamp(min=eps)
