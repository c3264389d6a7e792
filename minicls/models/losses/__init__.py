"""Losses (all registered in ``MODELS``)."""
from .cross_entropy_loss import (CrossEntropyLoss, binary_cross_entropy, cross_entropy,
                                 soft_cross_entropy)
from .focal_loss import FocalLoss, sigmoid_focal_loss
from .l1_loss import L1Loss, l1_loss
from .label_smooth_loss import LabelSmoothLoss
from .utils import (convert_to_one_hot, parse_losses, reduce_loss, weight_reduce_loss,
                    weighted_loss)

__all__ = ['CrossEntropyLoss', 'cross_entropy', 'soft_cross_entropy', 'binary_cross_entropy',
           'FocalLoss', 'sigmoid_focal_loss', 'L1Loss', 'l1_loss', 'LabelSmoothLoss',
           'convert_to_one_hot', 'reduce_loss', 'weight_reduce_loss', 'weighted_loss',
           'parse_losses']
