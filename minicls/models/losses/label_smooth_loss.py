"""``LabelSmoothLoss``: cross-entropy against softened targets.

With ``eps`` the smoothing value and ``K`` classes, a one-hot target ``d`` becomes

- ``'original'``:      ``(1 - eps) d + eps / K``
- ``'classy_vision'``: the same with ``eps = v / (1 + v)``, i.e. ``(d + v / K) / (1 + v)``
- ``'multi_label'``:   positives ``1 - eps``, negatives ``eps`` (with sigmoid BCE)

and the loss is soft cross-entropy (or BCE for multi_label) against it.

Explained in tutorials/10_losses.md.
"""
import warnings

import minicls
from minicls import nn
from minicls.registry import MODELS

from .cross_entropy_loss import CrossEntropyLoss
from .utils import convert_to_one_hot

__all__ = ['LabelSmoothLoss']


@MODELS.register_module()
class LabelSmoothLoss(nn.Module):
    """Args:
        label_smooth_val (float): the smoothing value, in [0, 1).
        num_classes (int, optional): K; taken from the scores if None.
        use_sigmoid (bool, optional): None -> True for 'multi_label', else False.
        mode (str): 'original', 'classy_vision' or 'multi_label'.
        reduction (str), loss_weight (float), class_weight, pos_weight: as CrossEntropyLoss.
    """

    def __init__(self, label_smooth_val, num_classes=None, use_sigmoid=None, mode='original',
                 reduction='mean', loss_weight=1.0, class_weight=None, pos_weight=None):
        super().__init__()
        self.num_classes = num_classes
        self.loss_weight = loss_weight
        assert isinstance(label_smooth_val, float) and 0 <= label_smooth_val < 1, (
            f'LabelSmoothLoss accepts a float label_smooth_val over [0, 1), but gets '
            f'{label_smooth_val}')
        self.label_smooth_val = label_smooth_val
        assert reduction in ('none', 'mean', 'sum'), \
            f'LabelSmoothLoss supports reduction none, mean, sum, but gets {reduction!r}'
        self.reduction = reduction
        assert mode in ('original', 'classy_vision', 'multi_label'), \
            f'LabelSmoothLoss supports mode original, classy_vision, multi_label, but ' \
            f'gets {mode!r}'
        self.mode = mode
        self._eps = label_smooth_val
        if mode == 'classy_vision':
            self._eps = label_smooth_val / (1 + label_smooth_val)
        if mode == 'multi_label':
            if not use_sigmoid:
                warnings.warn('For multi-label tasks, please set `use_sigmoid=True` to use '
                              'binary cross entropy.')
            self.smooth_label = self.multilabel_smooth_label
            use_sigmoid = True if use_sigmoid is None else use_sigmoid
        else:
            self.smooth_label = self.original_smooth_label
            use_sigmoid = False if use_sigmoid is None else use_sigmoid
        self.ce = CrossEntropyLoss(use_sigmoid=use_sigmoid, use_soft=not use_sigmoid,
                                   reduction=reduction, class_weight=class_weight,
                                   pos_weight=pos_weight)

    def generate_one_hot_like_label(self, label):
        """Class indices (N,) or (N, 1) -> one-hot float (N, K); (N, K) scores kept."""
        if label.dim() == 1 or (label.dim() == 2 and label.shape[1] == 1):
            label = convert_to_one_hot(label.reshape(-1, 1), self.num_classes)
        return label.float()

    def original_smooth_label(self, one_hot_like_label):
        assert self.num_classes > 0
        return one_hot_like_label * (1 - self._eps) + self._eps / self.num_classes

    def multilabel_smooth_label(self, one_hot_like_label):
        assert self.num_classes > 0
        eps = minicls.full_like(one_hot_like_label, self._eps)
        return minicls.where(one_hot_like_label > 0, 1 - eps, eps)

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None,
                **kwargs):
        if self.num_classes is not None:
            assert self.num_classes == cls_score.shape[1], (
                f'num_classes should equal to cls_score.shape[1], but got num_classes: '
                f'{self.num_classes} and cls_score.shape[1]: {cls_score.shape[1]}')
        else:
            self.num_classes = cls_score.shape[1]
        one_hot_like_label = self.generate_one_hot_like_label(label)
        assert one_hot_like_label.shape == cls_score.shape, (
            f'LabelSmoothLoss requires output and target to be same shape, but got output.shape: '
            f'{tuple(cls_score.shape)} and target.shape: {tuple(one_hot_like_label.shape)}')
        smoothed_label = self.smooth_label(one_hot_like_label)
        return self.loss_weight * self.ce(cls_score, smoothed_label, weight=weight,
                                          avg_factor=avg_factor,
                                          reduction_override=reduction_override, **kwargs)
