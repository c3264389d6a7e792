"""Photometric augmentation: :class:`ColorJitter` (optional in the CIFAR/ImageNet recipes)."""
import numpy as np
from PIL import Image

from minicls.registry import TRANSFORMS

from .base import BaseTransform, check_img, get_rng

__all__ = ['ColorJitter']

_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow's 'L'


def _blend(img, other, factor):
    """``factor * img + (1 - factor) * other`` clipped to [0, 255] (float32)."""
    return np.clip(factor * img + (1.0 - factor) * other, 0, 255)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Each factor is drawn uniformly from ``[max(0, 1 - x), 1 + x]`` for brightness, contrast and
    saturation, and from ``[-hue, hue]`` (fraction of the colour wheel, <= 0.5) for hue, as in
    torchvision / mmpretrain. A value of 0 leaves that property alone. RGB images only.

    Args:
        brightness (float): Non-negative jitter strength. Default: 0.
        contrast (float): Non-negative jitter strength. Default: 0.
        saturation (float): Non-negative jitter strength. Default: 0.
        hue (float): In [0, 0.5]. Default: 0.
        backend (str): Accepted for mmpretrain configs; NumPy and Pillow are always used.
    """

    def __init__(self, brightness=0., contrast=0., saturation=0., hue=0., backend='pillow'):
        for name, v in (('brightness', brightness), ('contrast', contrast),
                        ('saturation', saturation)):
            if v < 0:
                raise ValueError(f'{name} must be >= 0, got {v}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)
        self.backend = backend

    def transform(self, results):
        img = check_img(results, 'ColorJitter')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'ColorJitter needs an RGB HWC image, got shape {img.shape}')
        rng = get_rng()
        out = img.astype(np.float32)
        for op in rng.permutation(4):
            if op == 0 and self.brightness > 0:
                f = rng.uniform(max(0., 1 - self.brightness), 1 + self.brightness)
                out = np.clip(out * f, 0, 255)
            elif op == 1 and self.contrast > 0:
                f = rng.uniform(max(0., 1 - self.contrast), 1 + self.contrast)
                out = _blend(out, float((out @ _GRAY).mean()), f)
            elif op == 2 and self.saturation > 0:
                f = rng.uniform(max(0., 1 - self.saturation), 1 + self.saturation)
                out = _blend(out, (out @ _GRAY)[:, :, None], f)
            elif op == 3 and self.hue > 0:
                shift = rng.uniform(-self.hue, self.hue)
                hsv = np.array(Image.fromarray(out.astype(np.uint8)).convert('HSV'))
                hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int32) + int(round(shift * 255))) % 256
                out = np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB'), np.float32)
        results['img'] = out.astype(np.uint8)
        return results
