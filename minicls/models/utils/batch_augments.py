"""Batch augmentations: mix pairs of images and their one-hot labels (Mixup, CutMix).

They run in the data preprocessor on a whole normalised batch, after the labels became score
vectors ``(N, num_classes)``. Each draws ``lam ~ Beta(alpha, alpha)`` and pairs every image
with another one from a random permutation of the batch:

- ``Mixup``: ``x = lam x + (1 - lam) x[perm]``, ``y = lam y + (1 - lam) y[perm]``.
- ``CutMix``: a box of side ratio ``sqrt(1 - lam)`` at a random centre is pasted from
  ``x[perm]``; ``lam`` is then (``correct_lam``) the unpasted fraction of the image, and the
  scores are mixed with it.

``RandomBatchAugment`` picks one of several per batch (``probs``, the rest meaning "none").
Random numbers come from ``minicls.random.generator()`` (seeded by ``minicls.manual_seed``).

Explained in tutorials/10_losses.md.
"""
import numpy as np

import minicls
from minicls.backend import to_device
from minicls.registry import BATCH_AUGMENTS

__all__ = ['BATCH_AUGMENTS', 'Mixup', 'CutMix', 'RandomBatchAugment']


def _rng():
    return minicls.random.generator()


def _permutation(n, like):
    return to_device(_rng().permutation(n), like.device)


@BATCH_AUGMENTS.register_module()
class Mixup:
    """Args: alpha (float > 0): the Beta distribution's parameter."""

    def __init__(self, alpha):
        assert isinstance(alpha, float) and alpha > 0, \
            f'Mixup alpha must be a float > 0 (e.g. 1.0), got {alpha!r}'
        self.alpha = alpha

    def mix(self, batch_inputs, batch_scores):
        lam = float(_rng().beta(self.alpha, self.alpha))
        index = _permutation(batch_inputs.size(0), batch_inputs)
        mixed_inputs = lam * batch_inputs + (1 - lam) * batch_inputs[index]
        mixed_scores = lam * batch_scores + (1 - lam) * batch_scores[index]
        return mixed_inputs, mixed_scores

    def __call__(self, batch_inputs, batch_score):
        assert batch_score.ndim == 2, ('The input `batch_score` should be a one-hot format '
                                       'tensor, which shape should be ``(N, num_classes)``.')
        return self.mix(batch_inputs, batch_score.float())


@BATCH_AUGMENTS.register_module()
class CutMix(Mixup):
    """Args:
        alpha (float): Beta parameter.
        cutmix_minmax (list[float], optional): box side ratio drawn uniformly from this range
            instead of from ``lam``.
        correct_lam (bool): recompute lam from the clipped box area. Default True.
    """

    def __init__(self, alpha, cutmix_minmax=None, correct_lam=True):
        super().__init__(alpha=alpha)
        self.cutmix_minmax = cutmix_minmax
        self.correct_lam = correct_lam

    def rand_bbox_minmax(self, img_shape):
        assert len(self.cutmix_minmax) == 2
        img_h, img_w = img_shape
        cut_h = int(_rng().integers(int(img_h * self.cutmix_minmax[0]),
                                    int(img_h * self.cutmix_minmax[1])))
        cut_w = int(_rng().integers(int(img_w * self.cutmix_minmax[0]),
                                    int(img_w * self.cutmix_minmax[1])))
        yl = int(_rng().integers(0, img_h - cut_h))
        xl = int(_rng().integers(0, img_w - cut_w))
        return yl, yl + cut_h, xl, xl + cut_w

    def rand_bbox(self, img_shape, lam, margin=0.):
        """A box of side ``sqrt(1 - lam)`` times the image's, centred anywhere, clipped."""
        ratio = np.sqrt(1 - lam)
        img_h, img_w = img_shape
        cut_h, cut_w = int(img_h * ratio), int(img_w * ratio)
        margin_y, margin_x = int(margin * cut_h), int(margin * cut_w)
        cy = int(_rng().integers(0 + margin_y, img_h - margin_y))
        cx = int(_rng().integers(0 + margin_x, img_w - margin_x))
        yl, yh = np.clip(cy - cut_h // 2, 0, img_h), np.clip(cy + cut_h // 2, 0, img_h)
        xl, xh = np.clip(cx - cut_w // 2, 0, img_w), np.clip(cx + cut_w // 2, 0, img_w)
        return int(yl), int(yh), int(xl), int(xh)

    def cutmix_bbox_and_lam(self, img_shape, lam):
        if self.cutmix_minmax is not None:
            yl, yu, xl, xu = self.rand_bbox_minmax(img_shape)
        else:
            yl, yu, xl, xu = self.rand_bbox(img_shape, lam)
        if self.correct_lam or self.cutmix_minmax is not None:
            lam = 1. - (yu - yl) * (xu - xl) / float(img_shape[0] * img_shape[1])
        return (yl, yu, xl, xu), lam

    def mix(self, batch_inputs, batch_scores):
        lam = float(_rng().beta(self.alpha, self.alpha))
        index = _permutation(batch_inputs.size(0), batch_inputs)
        (y1, y2, x1, x2), lam = self.cutmix_bbox_and_lam(batch_inputs.shape[-2:], lam)
        data = batch_inputs.data.copy()  # inputs carry no gradient: plain array work
        data[:, :, y1:y2, x1:x2] = batch_inputs.data[index, :, y1:y2, x1:x2]
        mixed_scores = lam * batch_scores + (1 - lam) * batch_scores[index]
        return minicls.Tensor(data), mixed_scores


class RandomBatchAugment:
    """Apply one of ``augments`` (configs or objects) per batch.

    ``probs=None`` picks one uniformly every batch; a list of probabilities (sum <= 1) leaves
    the remainder for "no augmentation".
    """

    def __init__(self, augments, probs=None):
        if not isinstance(augments, (tuple, list)):
            augments = [augments]
        self.augments = [BATCH_AUGMENTS.build(a) if isinstance(a, dict) else a
                         for a in augments]
        if isinstance(probs, float):
            probs = [probs]
        if probs is not None:
            probs = list(probs)
            assert len(augments) == len(probs), '``augments`` and ``probs`` must have same ' \
                f'lengths. Got {len(augments)} vs {len(probs)}.'
            assert sum(probs) <= 1, \
                f'The total probability of batch augments exceeds 1, got {sum(probs)}.'
            self.augments.append(None)
            probs.append(1 - sum(probs))
        self.probs = probs

    def __call__(self, batch_input, batch_score):
        aug = self.augments[_rng().choice(len(self.augments), p=self.probs)]
        if aug is None:
            return batch_input, batch_score.float()
        return aug(batch_input, batch_score)

