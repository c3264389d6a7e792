"""Loss layers: Modules around the losses of ``nn.functional``.

``reduction`` is ``'mean'`` (average over elements, or over weighted targets for
cross-entropy), ``'sum'`` or ``'none'`` (one loss per element). Class weights and
``pos_weight`` are stored as buffers, so ``loss.to('cuda')`` moves them too.
"""
from .. import functional as F
from .module import Module


class _Loss(Module):

    def __init__(self, reduction='mean'):
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):

    def __init__(self, weight=None, reduction='mean'):
        super().__init__(reduction)
        self.register_buffer('weight', weight)


class CrossEntropyLoss(_WeightedLoss):
    """``-log softmax(input)[target]`` per sample; ``target`` is class indices ``(N,)`` or
    class probabilities ``(N, C)``. ``label_smoothing=e`` mixes the target with the uniform
    distribution: ``(1 - e) * target + e / C``."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction='mean', label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """``-input[n, target[n]]`` for log-probabilities ``input`` (use after ``LogSoftmax``)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction='mean'):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """``(input - target)^2``."""

    def __init__(self, size_average=None, reduce=None, reduction='mean'):
        super().__init__(reduction)

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``|input - target|``."""

    def __init__(self, size_average=None, reduce=None, reduction='mean'):
        super().__init__(reduction)

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``-[p * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x))]`` with ``p = pos_weight``
    (computed stably from the logits ``x``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction='mean',
                 pos_weight=None):
        super().__init__(reduction)
        self.register_buffer('weight', weight)
        self.register_buffer('pos_weight', pos_weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
