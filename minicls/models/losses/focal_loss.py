"""``FocalLoss`` (sigmoid): BCE scaled down on easy examples (Lin et al., 2017).

With ``s = sigmoid(x)`` and binary targets ``t`` (N, C):

    pt   = (1 - s) t + s (1 - t)                       (the probability of being wrong)
    w    = (alpha t + (1 - alpha)(1 - t)) * pt^gamma
    loss = BCE_with_logits(x, t) * w                    (element-wise, then reduced)

Explained in tutorials/10_losses.md.
"""
from minicls import nn
from minicls.nn import functional as F
from minicls.nn.functional.loss import check_float_input
from minicls.registry import MODELS

from .utils import convert_to_one_hot, weight_reduce_loss

__all__ = ['sigmoid_focal_loss', 'FocalLoss']


def sigmoid_focal_loss(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction='mean',
                       avg_factor=None):
    assert pred.shape == target.shape, 'pred and target should be in the same shape.'
    check_float_input(pred, 'sigmoid_focal_loss')
    pred_sigmoid = pred.sigmoid()
    target = target.to(pred.dtype)
    pt = (1 - pred_sigmoid) * target + pred_sigmoid * (1 - target)
    # the modulating factor is a weight: mmpretrain keeps it in the graph, and so do we
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    if weight is not None:
        assert weight.dim() == 1, f'sample weight must be 1-D (N,), got {tuple(weight.shape)}'
        weight = weight.float()
        if pred.dim() > 1:
            weight = weight.reshape(-1, 1)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Args: gamma (float, 2.0), alpha (float, 0.25), reduction ('mean'), loss_weight (1.0)."""

    def __init__(self, gamma=2.0, alpha=0.25, reduction='mean', loss_weight=1.0):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override if reduction_override else self.reduction
        if target.dim() == 1 or (target.dim() == 2 and target.shape[1] == 1):
            target = convert_to_one_hot(target.reshape(-1, 1), pred.shape[-1])
        return self.loss_weight * sigmoid_focal_loss(
            pred, target, weight, gamma=self.gamma, alpha=self.alpha, reduction=reduction,
            avg_factor=avg_factor)
