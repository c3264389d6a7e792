"""Helpers shared by the losses: reduce an element-wise loss, and make one-hot targets.

A loss function first computes one loss per element (per sample, or per sample and class),
then ``weight_reduce_loss`` multiplies by an optional ``weight`` and reduces:

- ``'none'``: keep the element-wise losses;
- ``'sum'``: their sum;
- ``'mean'``: their mean, or ``sum / avg_factor`` when ``avg_factor`` is given (the head
  passes ``avg_factor = N``, the batch size, so a weighted loss is still divided by N).

``@weighted_loss`` adds that reduction to a function that only returns element-wise losses::

    @weighted_loss
    def l1_loss(pred, target):
        return (pred - target).abs()

    l1_loss(pred, target, weight=None, reduction='mean', avg_factor=None)

``parse_losses`` turns a model's ``mode='loss'`` dict into the one Tensor to backpropagate.

Explained in tutorials/10_losses.md.
"""
import functools
import operator

from minicls import backend
from minicls.nn import functional as F
from minicls.tensor import Tensor

__all__ = ['reduce_loss', 'weight_reduce_loss', 'weighted_loss', 'convert_to_one_hot',
           'parse_losses']


def parse_losses(losses):
    """``(total, log_vars)`` from a model's loss dict, as mmengine's ``BaseModel.parse_losses``.

    Each value is a Tensor (its mean is taken) or a list of Tensors (the sum of their means).
    ``total`` is the sum of the values whose key contains ``'loss'``: the Tensor the Runner
    backpropagates. ``log_vars`` has every value as a float for the log, ``'loss'`` (the
    total) first. A value of another type, or no key with ``'loss'``, is an error.
    """
    means = {}
    for name, value in losses.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if not values or not all(isinstance(v, Tensor) for v in values):
            raise TypeError(f'{name} is not a tensor or list of tensors: got {value!r}')
        # (a 0-d value is its own mean, and sum() would start with a 0: no extra graph nodes)
        means[name] = functools.reduce(operator.add,
                                       [v if v.ndim == 0 else v.mean() for v in values])
    loss_values = [value for name, value in means.items() if 'loss' in name]
    if not loss_values:
        raise KeyError(f'the model returned no loss (keys {list(losses)}); mode="loss" must '
                       'give at least one entry whose name contains "loss"')
    total = functools.reduce(operator.add, loss_values)
    log_vars = dict(loss=total, **{k: v for k, v in means.items() if k != 'loss'})
    return total, {k: float(v.item()) for k, v in log_vars.items()}


def reduce_loss(loss, reduction):
    """``loss`` as is (``'none'``), ``loss.mean()`` or ``loss.sum()``."""
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"{reduction!r} is not a valid value for reduction: use 'none', 'mean' "
                     "or 'sum'")


def weight_reduce_loss(loss, weight=None, reduction='mean', avg_factor=None):
    """Multiply the element-wise ``loss`` by ``weight`` (broadcast), then reduce it.

    With ``avg_factor``, 'mean' is ``loss.sum() / avg_factor`` and 'none' keeps the loss;
    'sum' with an ``avg_factor`` is an error (it would be ignored).
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        return loss.sum() / avg_factor
    if reduction != 'none':
        raise ValueError('avg_factor can not be used with reduction="sum"')
    return loss


def weighted_loss(loss_func):
    """Turn ``loss_func(pred, target, **kw) -> element-wise loss`` into a function taking
    ``(pred, target, weight=None, reduction='mean', avg_factor=None, **kw)``.

    Example (l1 loss of ``[0, 2, 3]`` against ``[1, 1, 1]``)::

        >>> l1_loss(pred, target)                                   # mean of [1, 1, 2]
        tensor(1.3333)
        >>> l1_loss(pred, target, weight)                           # weight [1, 0, 1]
        tensor(1.)
        >>> l1_loss(pred, target, reduction='none')
        tensor([1., 1., 2.])
        >>> l1_loss(pred, target, weight, avg_factor=2)             # (1 + 2) / 2
        tensor(1.5000)
    """

    @functools.wraps(loss_func)
    def wrapper(pred, target, weight=None, reduction='mean', avg_factor=None, **kwargs):
        loss = loss_func(pred, target, **kwargs)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)

    return wrapper


def convert_to_one_hot(targets, classes):
    """Class indices of shape (N, 1) -> an int64 one-hot matrix (N, classes)."""
    backend.check(targets.data.max() >= classes, lambda: AssertionError(   # no host sync on a GPU
        'Class Index must be less than number of classes'))
    return F.one_hot(targets.long().reshape(-1), num_classes=classes)
