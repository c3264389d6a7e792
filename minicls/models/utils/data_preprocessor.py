"""``ClsDataPreprocessor``: a loader batch -> normalised float inputs and targets on the device.

The loader gives ``{'inputs': (N, C, H, W) uint8, 'gt_label': (N,) int64, ...}``. This module:

1. moves the images to the model's device and casts them to float32;
2. flips BGR <-> RGB when ``to_rgb`` (3 channels only);
3. normalises each channel: ``x = (x - mean[c]) / std[c]`` (only when ``mean`` is given);
4. pads right/bottom to a multiple of ``pad_size_divisor`` with ``pad_value``;
5. makes the targets: class indices ``(N,)``, or score vectors ``(N, num_classes)`` when the
   batch has ``gt_score``, when ``to_onehot`` is set, or when batch augments are used;
6. in training, applies the batch augments (Mixup, CutMix) to inputs and scores together.

``mean``/``std`` are non-persistent buffers: they follow ``model.to(device)`` but are not in
the state_dict (they come from the config, not from training).
"""
import logging

import numpy as np

import minicls
from minicls import nn
from minicls.backend import get_array_module, parse_device, to_device, to_numpy
from minicls.nn import functional as F
from minicls.registry import MODELS

from .batch_augments import RandomBatchAugment

__all__ = ['ClsDataPreprocessor']

logger = logging.getLogger('minicls')


def _array(x):
    return x.data if isinstance(x, minicls.Tensor) else x


@MODELS.register_module()
class ClsDataPreprocessor(nn.Module):
    """Args:
        mean, std (sequence[float], optional): per-channel statistics (0-255 scale for uint8
            images). No ``mean`` -> no normalisation.
        pad_size_divisor (int), pad_value (float): padding of the batch. Default 1, 0.
        to_rgb (bool): flip the channel order of 3-channel images. Default False.
        to_onehot (bool): give one-hot score targets. Default False.
        num_classes (int, optional): needed for one-hot targets.
        batch_augments (dict, optional): ``dict(augments=..., probs=...)`` for
            ``RandomBatchAugment``; turns ``to_onehot`` on.
    """

    def __init__(self, mean=None, std=None, pad_size_divisor=1, pad_value=0, to_rgb=False,
                 to_onehot=False, num_classes=None, batch_augments=None):
        super().__init__()
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.to_rgb = to_rgb
        self.to_onehot = to_onehot
        self.num_classes = num_classes
        self._device = 'cpu'
        if mean is not None:
            assert std is not None, 'To enable the normalization in preprocessing, please ' \
                'specify both `mean` and `std`.'
            self._enable_normalize = True
            self.register_buffer('mean', minicls.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer('std', minicls.tensor(std).view(-1, 1, 1), False)
        else:
            self._enable_normalize = False
        if batch_augments:
            self.batch_augments = RandomBatchAugment(**batch_augments)
            if not self.to_onehot:
                logger.info('Because batch augmentations are enabled, the data preprocessor '
                            'automatically enables the `to_onehot` option to generate one-hot '
                            'format labels.')
                self.to_onehot = True
        else:
            self.batch_augments = None

    # -- device -------------------------------------------------------------------------------
    @property
    def device(self):
        return self.mean.device if self._enable_normalize else self._device

    def to(self, *args, **kwargs):
        for arg in list(args) + list(kwargs.values()):
            if isinstance(arg, str) and (arg == 'cpu' or arg.startswith('cuda')):
                self._device = parse_device(arg)
        return super().to(*args, **kwargs)

    # -- the work -----------------------------------------------------------------------------
    def _stack(self, inputs):
        """(N, C, H, W) array (any dtype) on the device; a list of (C, H, W) images is padded
        right/bottom to the largest size first."""
        if isinstance(inputs, (list, tuple)):
            images = [_array(img) for img in inputs]
            h = max(img.shape[-2] for img in images)
            w = max(img.shape[-1] for img in images)
            xp = get_array_module(images[0])
            batch = xp.full((len(images), images[0].shape[0], h, w), self.pad_value,
                            dtype=images[0].dtype)
            for i, img in enumerate(images):
                batch[i, :, :img.shape[-2], :img.shape[-1]] = img
            inputs = batch
        inputs = _array(inputs)
        if inputs.ndim != 4:
            raise ValueError(f'inputs must be a batch (N, C, H, W), got shape {inputs.shape}')
        return to_device(inputs, self.device)

    def _targets(self, batch, num_images):
        """Class indices (N,) int64, or scores (N, num_classes) float32, or None."""
        if batch.get('gt_score') is not None:
            scores = batch['gt_score']
            if isinstance(scores, (list, tuple)):
                scores = np.stack([to_numpy(_array(s)) for s in scores])
            return minicls.Tensor(to_device(_array(scores), self.device)).float()
        if batch.get('gt_label') is None:
            return None
        labels = _array(batch['gt_label'])
        labels = minicls.Tensor(to_device(np.asarray(to_numpy(labels), dtype=np.int64),
                                          self.device).reshape(-1))
        if labels.shape[0] != num_images:
            raise ValueError(f'{num_images} images but {labels.shape[0]} labels in the batch')
        if not self.to_onehot:
            return labels
        assert self.num_classes is not None, 'Please specify `num_classes` in the data ' \
            'preprocessor to convert labels to one-hot scores (to_onehot / batch augments).'
        return F.one_hot(labels, num_classes=self.num_classes).float()

    def forward(self, data, training=False):
        """``data``: the loader's batch dict. Returns ``{'inputs': float32 Tensor (N, C, H, W),
        'targets': Tensor or None}`` on the model's device."""
        with minicls.no_grad():
            x = self._stack(data['inputs'])
            xp = get_array_module(x)
            if self.to_rgb and x.shape[1] == 3:
                x = x[:, ::-1]
            x = x.astype(xp.float32)
            if self._enable_normalize:
                x = (x - self.mean.data) / self.std.data
            h, w = x.shape[-2:]
            div = self.pad_size_divisor
            pad_h, pad_w = (-h) % div, (-w) % div
            if pad_h or pad_w:
                x = xp.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)),
                           constant_values=self.pad_value)
            inputs = minicls.Tensor(xp.ascontiguousarray(x))
            targets = self._targets(data, inputs.shape[0])
            if training and self.batch_augments is not None and targets is not None \
                    and targets.ndim == 2:
                inputs, targets = self.batch_augments(inputs, targets)
        return {'inputs': inputs, 'targets': targets}

