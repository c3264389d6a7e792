"""Changing the image size: :class:`Resize`, :class:`ResizeEdge`, :class:`RandomResizedCrop`.

All resizing is done by Pillow. Size conventions follow the originals: mmcv's ``Resize.scale``
is ``(w, h)``; mmpretrain's ``RandomResizedCrop.scale`` is ``(h, w)``; an int is a square.
"""
import math

import numpy as np
from PIL import Image

from minicls.registry import TRANSFORMS
from minicls.utils import to_2tuple

from .base import BaseTransform, check_img, get_rng

__all__ = ['Resize', 'ResizeEdge', 'RandomResizedCrop', 'imresize']

INTERPOLATIONS = {
    'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC,
    'area': Image.BOX, 'box': Image.BOX, 'lanczos': Image.LANCZOS, 'hamming': Image.HAMMING,
}


def imresize(img, size, interpolation='bilinear'):
    """Resize an HWC (or HW) uint8 array to ``size = (w, h)`` with Pillow."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {sorted(INTERPOLATIONS)}, '
                         f'got {interpolation!r}')
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f'cannot resize to {w}x{h} (w x h): sizes must be positive')
    one_channel = img.ndim == 3 and img.shape[2] == 1
    im = Image.fromarray(np.ascontiguousarray(img[:, :, 0] if one_channel else img))
    out = np.asarray(im.resize((w, h), INTERPOLATIONS[interpolation]))
    return out[:, :, None] if one_channel else out


def _set_img(results, img, ori_hw):
    results['img'] = img
    results['img_shape'] = img.shape[:2]
    results['scale'] = (img.shape[1], img.shape[0])
    results['scale_factor'] = (img.shape[1] / ori_hw[1], img.shape[0] / ori_hw[0])
    return results


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to a fixed size, or by a factor (mmcv's ``Resize``).

    Args:
        scale (int | tuple | None): target ``(w, h)``; an int means ``(scale, scale)``.
        scale_factor (float | None): used when ``scale`` is None: multiply both sides.
        keep_ratio (bool): keep the aspect ratio: the largest size whose long side is at most
            ``max(scale)`` and short side at most ``min(scale)``.
        interpolation (str): ``'nearest'``, ``'bilinear'``, ``'bicubic'``, ``'area'``, ...
        backend (str): accepted for mmcv configs; Pillow is always used.
    """

    def __init__(self, scale=None, scale_factor=None, keep_ratio=False,
                 interpolation='bilinear', backend='pillow'):
        if (scale is None) == (scale_factor is None):
            raise ValueError('give exactly one of scale and scale_factor')
        self.scale = None if scale is None else to_2tuple(scale, 'scale')
        self.scale_factor = scale_factor
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.backend = backend  # accepted for mmcv configs; Pillow is always used

    def transform(self, results):
        img = check_img(results, 'Resize')
        h, w = img.shape[:2]
        if self.scale is None:
            factor = float(self.scale_factor)
            size = int(w * factor + 0.5), int(h * factor + 0.5)
        elif self.keep_ratio:
            factor = min(max(self.scale) / max(h, w), min(self.scale) / min(h, w))
            size = int(w * factor + 0.5), int(h * factor + 0.5)
        else:
            size = self.scale
        return _set_img(results, imresize(img, size, self.interpolation), (h, w))


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize so that one edge is ``scale`` pixels, keeping the aspect ratio (mmpretrain).

    ``ResizeEdge(scale=256, edge='short')`` then ``CenterCrop(224)`` is the ImageNet test recipe.

    Args:
        scale (int): the target length of the chosen edge.
        edge (str): ``'short'``, ``'long'``, ``'width'`` or ``'height'``.
        interpolation (str): as in :class:`Resize`. Default: ``'bilinear'``.
        backend (str): accepted for mmcv configs; Pillow is always used.
    """

    def __init__(self, scale, edge='short', interpolation='bilinear', backend='pillow'):
        if edge not in ('short', 'long', 'width', 'height'):
            raise ValueError(f"edge must be 'short', 'long', 'width' or 'height', got {edge!r}")
        self.scale = int(scale)
        self.edge = edge
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results):
        img = check_img(results, 'ResizeEdge')
        h, w = img.shape[:2]
        if ((self.edge == 'short' and w < h) or (self.edge == 'long' and w > h)
                or self.edge == 'width'):
            size = self.scale, int(self.scale * h / w)
        else:
            size = int(self.scale * w / h), self.scale
        return _set_img(results, imresize(img, size, self.interpolation), (h, w))


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area and aspect ratio, then resize it to ``scale`` (the ImageNet train crop).

    Up to ``max_attempts`` times: pick an area fraction in ``crop_ratio_range`` and a log-uniform
    aspect ratio in ``aspect_ratio_range``; keep the first window that fits. If none fits, take
    the largest centred window with the aspect ratio clamped to the range.

    Args:
        scale (int | tuple): output size ``(h, w)``, or an int for a square.
        crop_ratio_range (tuple): range of the crop's area as a fraction of the image's.
        aspect_ratio_range (tuple): range of the crop's width / height.
        max_attempts (int): random tries before the centred fallback.
        interpolation (str): Pillow filter used for the resize.
        backend (str): accepted for mmcv configs; Pillow is always used.
    """

    def __init__(self, scale, crop_ratio_range=(0.08, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.),
                 max_attempts=10, interpolation='bilinear', backend='pillow'):
        self.scale = to_2tuple(scale, 'scale')
        lo, hi = crop_ratio_range
        if not 0 < lo <= hi <= 1:
            raise ValueError(f'crop_ratio_range must satisfy 0 < lo <= hi <= 1, '
                             f'got {crop_ratio_range!r}')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError(f'bad aspect_ratio_range {aspect_ratio_range!r}')
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def crop_box(self, h, w):
        """A random window ``(top, left, height, width)`` inside an ``h`` x ``w`` image."""
        rng = get_rng()
        area = h * w
        log_lo, log_hi = math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1])
        for _ in range(self.max_attempts):
            target_area = rng.uniform(*self.crop_ratio_range) * area
            ratio = math.exp(rng.uniform(log_lo, log_hi))
            cw = int(round(math.sqrt(target_area * ratio)))
            ch = int(round(math.sqrt(target_area / ratio)))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(rng.integers(0, h - ch + 1))
                left = int(rng.integers(0, w - cw + 1))
                return top, left, ch, cw
        # Fallback: a centred crop with the ratio clamped into the allowed range.
        in_ratio = w / h
        if in_ratio < self.aspect_ratio_range[0]:
            cw, ch = w, int(round(w / self.aspect_ratio_range[0]))
        elif in_ratio > self.aspect_ratio_range[1]:
            ch, cw = h, int(round(h * self.aspect_ratio_range[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results):
        img = check_img(results, 'RandomResizedCrop')
        h, w = img.shape[:2]
        top, left, ch, cw = self.crop_box(h, w)
        crop = img[top:top + ch, left:left + cw]
        out = imresize(crop, (self.scale[1], self.scale[0]), self.interpolation)
        return _set_img(results, out, (h, w))
