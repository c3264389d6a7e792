"""``L1Loss``: the mean absolute difference, ``|pred - target|``.

mmpretrain itself has no L1Loss; this is the one its "Customize Models" guide writes as the
example of a new loss (to mimic the scores of another model), so the guide runs here.
"""
from minicls import nn
from minicls.registry import MODELS

from .utils import weighted_loss

__all__ = ['l1_loss', 'L1Loss']


@weighted_loss
def l1_loss(pred, target):
    """Element-wise ``|pred - target|``; both must have the same shape."""
    assert pred.size() == target.size() and target.numel() > 0, (
        f'l1_loss needs pred and target of one shape, got {tuple(pred.shape)} and '
        f'{tuple(target.shape)} (class-index targets need one-hot first: set to_onehot=True '
        'in the data_preprocessor)')
    return (pred - target).abs()


@MODELS.register_module()
class L1Loss(nn.Module):

    def __init__(self, reduction='mean', loss_weight=1.0):
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override if reduction_override else self.reduction
        return self.loss_weight * l1_loss(pred, target, weight, reduction=reduction,
                                          avg_factor=avg_factor)
