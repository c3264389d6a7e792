"""linear, dropout and one_hot (``minicls.nn.functional``)."""
import numpy as np

from ... import backend, dtypes
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...parallel import matmul
from ...autograd.grad_mode import is_grad_enabled
from ...random import generator
from ...tensor import Tensor


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,) (optional).

    x is viewed as a matrix X (M, in) so each pass is one GEMM:
        Y = X W^T,   dX = dY W,   dW = dY^T X,   db = sum of dY over rows.
    """
    cases = [OpCase(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
                    [(3, 4), (5, 4), (5,)]),
             OpCase(lambda lib, x, w: lib.nn.functional.linear(x, w), [(2, 3, 4), (2, 4)],
                    name='3d-no-bias'),
             OpCase(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
                    [(4,), (3, 4), (3,)], name='1d-input')]

    @staticmethod
    def forward(ctx, x, weight, *bias):
        x2 = x.reshape(-1, x.shape[-1])                   # (M, in)
        y = matmul(x2, weight.T)            # blocks of rows on the threads (minicls.parallel)
        if bias:
            y += bias[0]
        ctx.save_for_backward(x2, weight)
        ctx.shape = x.shape
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, gy):
        x2, weight = ctx.saved_tensors
        g2 = gy.reshape(-1, weight.shape[0])
        need = ctx.needs_input_grad
        gx = matmul(g2, weight).reshape(ctx.shape) if need[0] else None
        gw = matmul(g2.T, x2) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if need[2] else None)


def linear(input, weight, bias=None):  # noqa: A002
    """y = input @ weight.T + bias for input (..., in_features), weight (out, in), bias (out,)."""
    if input.ndim < 1 or weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f'linear: input of shape {tuple(input.shape)} needs a last dimension '
                         f'equal to weight.shape[1]; weight has shape {tuple(weight.shape)} '
                         '(out_features, in_features)')
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f'linear: bias should have shape ({weight.shape[0]},), '
                         f'got {tuple(bias.shape)}')
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


class Dropout(Function):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) per element.   dx = dy * mask / (1 - p).

    Its randomness cannot be compared with PyTorch's element by element, so its OpCase uses
    p = 1 (every element dropped: y = 0, dx = 0, deterministic for both libraries);
    ``tests/test_nn/test_functional.py`` checks the drop rate, the 1/(1-p) scaling, that dx uses the
    same mask as y, and that eval mode is the identity.
    """
    cases = [OpCase(lambda lib, x: lib.nn.functional.dropout(x, p=1.0), [(3, 4)],
                    name='p1-zeros')]

    @staticmethod
    def forward(ctx, x, keep):
        """``keep``: the mask already scaled by 1/(1-p), in x's dtype and on x's device."""
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx, gy):
        keep, = ctx.saved_tensors
        return gy * keep


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero each element with probability ``p`` and scale the others by 1/(1-p) (training);
    the identity when ``training`` is False or p == 0.

    The mask comes from ``minicls.random.generator()`` (seeded by ``minicls.manual_seed``),
    drawn on the host and moved to the input's device. ``inplace=True`` overwrites ``input``'s
    data when no gradient is recorded; otherwise it returns a new Tensor as usual.
    """
    if not 0 <= p <= 1:
        raise ValueError(f'dropout probability has to be between 0 and 1, but got {p}')
    if not training or p == 0:
        return input
    if not input.is_floating_point():
        raise TypeError(f'dropout: expected a floating point input, got {input.dtype}')
    if p == 1:
        keep = np.zeros(input.shape, dtype=input.dtype)
    else:
        keep = (generator().random(input.shape, dtype=np.float32) >= p).astype(input.dtype)
        keep *= 1 / (1 - p)
    keep = backend.to_device(keep, input.device)
    if inplace and not (input.requires_grad and is_grad_enabled()):
        input.data *= keep
        return input
    return Dropout.apply(input, keep=keep)


def one_hot(tensor, num_classes=-1):
    """int64 Tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each label.

    ``num_classes=-1`` uses max(label) + 1. Labels must be integers in [0, num_classes).
    """
    if tensor.is_floating_point() or tensor.dtype == np.bool_:
        raise TypeError(f'one_hot: expected an integer (int64) tensor of class indices, got '
                        f'{tensor.dtype}; convert it with .long()')
    xp = get_array_module(tensor.data)
    labels = tensor.data
    if num_classes == -1 and not labels.size:
        raise ValueError('one_hot: cannot infer num_classes from an empty tensor; pass '
                         'num_classes')
    if labels.size:         # on a GPU read later, with the next host transfer (backend.check)
        low, high = labels.min(), labels.max()
        if num_classes == -1:   # inferred from the labels: read on the host (a sync on a GPU)
            num_classes = int(backend.to_numpy(high)) + 1
        backend.check(low < 0, lambda: ValueError(
            f'one_hot: class values must be non-negative, got {int(backend.to_numpy(low))}'))
        backend.check(high >= num_classes, lambda: ValueError(
            f'one_hot: class value {int(backend.to_numpy(high))} is out of range for '
            f'num_classes={num_classes} (labels must be in [0, {num_classes - 1}])'))
    out = labels[..., None] == xp.arange(num_classes)
    return Tensor(out.astype(dtypes.int64))
