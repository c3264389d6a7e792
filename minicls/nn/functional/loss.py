"""Losses of ``minicls.nn.functional``, with PyTorch's names, arguments and reductions.

``reduction``: 'none' keeps one loss per element (or sample), 'sum' adds them, 'mean' averages
them, except where class weights are given to nll_loss/cross_entropy with class indices: then
'mean' is the weighted mean sum_i w[y_i] l_i / sum_i w[y_i] (PyTorch's definition).

cross_entropy is log_softmax (stable for any logit size: it subtracts the max) followed by
nll_loss, which picks -log p[i, y_i] with the engine's ``Gather`` op. The one new op here is
``BCEWithLogits``, the numerically stable logistic loss.
"""
import warnings

from ... import backend
from ... import functional as _F
from ...autograd.function import Function
from ...autograd.opspec import OpCase
from ...backend import get_array_module
from ...tensor import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def _check_reduction(reduction, op):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == 'mean':
        return loss.mean()
    return loss.sum() if reduction == 'sum' else loss


def check_float_input(input, op):  # noqa: A002
    """Losses take floating point scores (logits or log-probabilities): refuse integer or
    bool ones, which PyTorch refuses too (softmax of integers is not defined there)."""
    if not input.is_floating_point():
        raise TypeError(f'{op}: expected floating point scores (logits), got {input.dtype} '
                        f'of shape {tuple(input.shape)}; convert them with .float() (scores '
                        'are what the model outputs, not class indices)')


# -- nll_loss / cross_entropy ---------------------------------------------------------------------
def _check_class_targets(input, target, weight, ignore_index, op):  # noqa: A002
    """Validate (N, C, d...) input against (N, d...) integer targets; return the valid mask."""
    if target.is_floating_point():
        raise TypeError(f'{op}: expected class indices of an integer dtype (int64), got '
                        f'{target.dtype} targets of shape {tuple(target.shape)}; probability '
                        'targets need the same shape as the input (cross_entropy only)')
    if input.shape[0] != target.shape[0]:
        raise ValueError(f'{op}: Expected input batch_size ({input.shape[0]}) to match target '
                         f'batch_size ({target.shape[0]}).')
    if tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
        raise ValueError(f'{op}: expected target of shape {(input.shape[0],) + input.shape[2:]} '
                         f'for input of shape {tuple(input.shape)}, got {tuple(target.shape)}')
    c = input.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f'{op}: weight should hold one value per class, shape ({c},), got '
                         f'{tuple(weight.shape)}')
    labels = target.data
    counted = _counted(labels, c, ignore_index)
    bad = (labels != ignore_index) & ~counted

    def error():
        value = int(backend.to_numpy(labels)[backend.to_numpy(bad)][0])
        return IndexError(f'{op}: Target {value} is out of bounds: class indices must be in '
                          f'[0, {c - 1}] for {c} classes (or ignore_index={ignore_index})')
    backend.check(bad.any(), error)   # on a GPU: read with the next host transfer, no sync here
    return counted  # (until then a bad label counts as ignored, and indexes nothing)


def _counted(labels, c, ignore_index):
    """The targets a class-index loss counts: a class in [0, c), not ``ignore_index``."""
    return (labels != ignore_index) & (labels >= 0) & (labels < c)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean'):  # noqa: A002
    """l_i = -w[y_i] * input[i, y_i] for log-probabilities ``input`` (N, C) or (N, C, d1...)
    and class indices ``target`` (N,) or (N, d1...); targets equal to ``ignore_index`` count 0
    and are left out of the weighted mean."""
    _check_reduction(reduction, 'nll_loss')
    check_float_input(input, 'nll_loss')
    if input.ndim == 1:  # one sample (C,) with a scalar target
        loss = nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
        return loss.squeeze(0) if reduction == 'none' else loss
    if input.ndim < 1 or target.ndim < 1:
        raise ValueError(f'nll_loss: expected input (N, C) and target (N,), got shapes '
                         f'{tuple(input.shape)} and {tuple(target.shape)}')
    valid = _check_class_targets(input, target, weight, ignore_index, 'nll_loss')
    xp = get_array_module(input.data)
    safe = xp.where(valid, target.data, 0)             # any class index for ignored targets
    picked = input.gather(1, Tensor(safe[:, None])).squeeze(1)      # (N, d1...)
    if weight is None:
        w = valid.astype(input.dtype)
    else:
        w = weight.data.astype(input.dtype)[safe] * valid
    loss = -picked * Tensor(w)
    if reduction == 'mean':
        return loss.sum() / Tensor(w.sum())      # (a Tensor: no host sync on a GPU)
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean',  # noqa: A002
                  label_smoothing=0.0):
    """Softmax cross-entropy of logits ``input`` (N, C) or (N, C, d1...).

    ``target``: class indices (N,) / (N, d1...) (int), or class probabilities with the input's
    shape (float). ``label_smoothing`` eps mixes the target with the uniform distribution, as
    PyTorch: for indices, loss = (1 - eps) * nll + eps / C * sum_c(-w_c log p_c) (the second
    term reduced like the first); for probabilities, target = target (1 - eps) + eps / C.
    """
    _check_reduction(reduction, 'cross_entropy')
    check_float_input(input, 'cross_entropy')
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f'cross_entropy: label_smoothing must be in [0, 1], got '
                         f'{label_smoothing}')
    if input.ndim == 1:  # one sample (C,)
        soft = target.is_floating_point()
        loss = cross_entropy(input.unsqueeze(0), target.unsqueeze(0) if soft else target.reshape(1),
                             weight, ignore_index, reduction, label_smoothing)
        return loss.squeeze(0) if reduction == 'none' else loss
    c = input.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f'cross_entropy: weight should hold one value per class, shape ({c},), '
                         f'got {tuple(weight.shape)}')
    logp = _F.log_softmax(input, 1)
    w = None if weight is None else weight.reshape((1, c) + (1,) * (input.ndim - 2))
    if target.is_floating_point():
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f'cross_entropy: probability targets need the input\'s shape '
                             f'{tuple(input.shape)}, got {tuple(target.shape)} (pass int64 '
                             'class indices of shape (N,) for hard labels)')
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        weighted = logp * target if w is None else logp * target * w
        return _reduce(-weighted.sum(1), reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    xp, labels = get_array_module(input.data), target.data
    kept = _counted(labels, c, ignore_index)                         # as nll_loss counted them
    valid = Tensor(kept.astype(input.dtype))
    smooth = -(logp if w is None else logp * w).sum(1) * valid       # (N, d1...)
    if reduction == 'mean':   # divided by the weight of the kept targets, as nll_loss's mean
        kept_weight = valid.data if weight is None else \
            weight.data[xp.where(kept, labels, 0)] * valid.data
        smooth = smooth.sum() / Tensor(kept_weight.sum())
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


# -- binary cross-entropy with logits -------------------------------------------------------------
class BCEWithLogits(Function):
    """Element-wise l = -[pw y log s(x) + (1 - y) log(1 - s(x))], s the sigmoid, pw the
    pos_weight (1 if absent), in the form that never overflows:

        l = (1 - y) x + (1 + (pw - 1) y) softplus(-x),   softplus(-x) = max(-x, 0) + log1p(e^-|x|)

    (pw = 1 gives max(x, 0) - x y + log1p(e^-|x|)).
        dl/dx = (1 - y) - (1 + (pw - 1) y) s(-x)
        dl/dy = -x + (pw - 1) softplus(-x),     dl/dpw = y softplus(-x)
    """
    cases = [OpCase(lambda lib, x, y: lib.nn.functional.binary_cross_entropy_with_logits(
        x, y, reduction='none'), [(3, 4), (3, 4)], domain=[(-5, 5), (0, 1)]),
        OpCase(lambda lib, x, y, pw: lib.nn.functional.binary_cross_entropy_with_logits(
            x, y, pos_weight=pw, reduction='none'), [(2, 3), (2, 3), (3,)],
            domain=[(-5, 5), (0, 1), (0.5, 3)], grad=(0, 1), name='pos-weight'),
        OpCase(lambda lib, x, y, w: lib.nn.functional.binary_cross_entropy_with_logits(
            x, y, weight=w), [(4, 2), (4, 2), (2,)], domain=[(-30, 30), (0, 1), (0, 2)],
            grad=(0, 1), name='weight-mean-big-logits')]

    @staticmethod
    def forward(ctx, x, y, *pos_weight):
        xp = get_array_module(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-abs(x)))  # log(1 + e^-x)
        ctx.save_for_backward(x, y, softplus_neg, *pos_weight)
        if not pos_weight:
            return (1 - y) * x + softplus_neg
        return (1 - y) * x + (1 + (pos_weight[0] - 1) * y) * softplus_neg

    @staticmethod
    def backward(ctx, gl):
        x, y, softplus_neg, *pos_weight = ctx.saved_tensors
        xp = get_array_module(x)
        sigmoid_neg = 0.5 * (1 - xp.tanh(0.5 * x))                     # s(-x)
        need = ctx.needs_input_grad
        pw_minus_1 = pos_weight[0] - 1 if pos_weight else 0
        gx = gl * ((1 - y) - (1 + pw_minus_1 * y) * sigmoid_neg) if need[0] else None
        gy = gl * (pw_minus_1 * softplus_neg - x) if need[1] else None
        if not pos_weight:
            return gx, gy
        return gx, gy, (gl * y * softplus_neg if need[2] else None)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean',  # noqa: A002
                                     pos_weight=None):
    """Binary cross-entropy of logits ``input`` and targets in [0, 1] of the same shape.
    ``weight`` rescales each element's loss (broadcast); ``pos_weight`` (broadcast along the
    last axis, one per class) weighs the positive term."""
    _check_reduction(reduction, 'binary_cross_entropy_with_logits')
    check_float_input(input, 'binary_cross_entropy_with_logits')
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f'binary_cross_entropy_with_logits: Target size '
                         f'({tuple(target.shape)}) must be the same as input size '
                         f'({tuple(input.shape)})')
    target = target.to(input.dtype)
    if pos_weight is None:
        loss = BCEWithLogits.apply(input, target)
    else:
        loss = BCEWithLogits.apply(input, target, pos_weight.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- regression losses ----------------------------------------------------------------------------
def _difference(input, target, op):  # noqa: A002
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f'{op}: using a target size ({tuple(target.shape)}) that is different to '
                      f'the input size ({tuple(input.shape)}); they will be broadcast, which is '
                      'likely not what you want', stacklevel=3)
    return input - target


def l1_loss(input, target, reduction='mean'):  # noqa: A002
    """|input - target|, reduced."""
    _check_reduction(reduction, 'l1_loss')
    return _reduce(_difference(input, target, 'l1_loss').abs(), reduction)


def mse_loss(input, target, reduction='mean'):  # noqa: A002
    """(input - target)^2, reduced."""
    _check_reduction(reduction, 'mse_loss')
    diff = _difference(input, target, 'mse_loss')
    return _reduce(diff * diff, reduction)


def smooth_l1_loss(input, target, reduction='mean', beta=1.0):  # noqa: A002
    """0.5 d^2 / beta where d = |input - target| < beta, else d - 0.5 beta (Huber / beta)."""
    _check_reduction(reduction, 'smooth_l1_loss')
    d = _difference(input, target, 'smooth_l1_loss').abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(_F.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction)
