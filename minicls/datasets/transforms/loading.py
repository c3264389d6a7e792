"""Reading image files: :class:`LoadImageFromFile`."""
import logging
import os.path as osp

import numpy as np
from PIL import Image

from minicls.registry import TRANSFORMS

from .base import BaseTransform

__all__ = ['LoadImageFromFile', 'read_image']

_CONVERTED = set()  # the image modes already reported as converted to RGB


def read_image(path, color_type='color'):
    """Decode an image file with Pillow into an HWC uint8 array.

    Args:
        path (str): the file.
        color_type (str): ``'color'`` -> RGB, 3 channels (grayscale, palette and RGBA images are
            converted; alpha is dropped); ``'grayscale'`` -> 1 channel, shape (H, W, 1).

    Raises:
        FileNotFoundError: no such file.
        OSError: the file exists but is not a readable image (the message names the file).
    """
    if color_type not in ('color', 'grayscale'):
        raise ValueError(f"color_type must be 'color' or 'grayscale', but got {color_type!r}")
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    try:
        with Image.open(path) as im:
            if color_type == 'color' and im.mode != 'RGB' and im.mode not in _CONVERTED:
                _CONVERTED.add(im.mode)  # said once per mode: a folder may hold thousands
                logging.getLogger('minicls').info(
                    f'{osp.abspath(path)} has image mode {im.mode!r}, not RGB: converted to '
                    "3-channel RGB (LoadImageFromFile color_type='color'; 'grayscale' keeps "
                    'one channel). Further images of this mode are converted silently.')
            im = im.convert('RGB' if color_type == 'color' else 'L')
            img = np.asarray(im)
    except Exception as err:  # PIL raises several types for broken files
        raise OSError(f'Cannot read image file {path}: {type(err).__name__}: {err}') from err
    if img.ndim == 2:
        img = img[:, :, None]
    return img


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load ``results['img_path']`` into ``results['img']`` (HWC uint8, RGB order).

    Adds ``img_shape`` and ``ori_shape`` (both ``(H, W)``).

    Args:
        color_type (str): ``'color'`` (default: 3 channels, grayscale files are repeated to RGB)
            or ``'grayscale'`` (1 channel).
    """

    def __init__(self, color_type='color', **kwargs):
        # mmcv options that do not apply here (imdecode_backend, file_client_args,
        # backend_args, to_float32=False) are accepted so mmpretrain configs build.
        unknown = set(kwargs) - {'imdecode_backend', 'file_client_args', 'backend_args',
                                 'to_float32'}
        if unknown:
            raise TypeError(f'LoadImageFromFile got unexpected arguments {sorted(unknown)}')
        if kwargs.get('to_float32'):
            raise ValueError('to_float32=True is not supported: images stay uint8 until the '
                             'data preprocessor normalizes them')
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"color_type must be 'color' or 'grayscale', got {color_type!r}")
        self.color_type = color_type

    def transform(self, results):
        path = results.get('img_path')
        if path is None:
            raise KeyError(f'LoadImageFromFile: no "img_path" in the results '
                           f'(keys: {sorted(results)})')
        img = read_image(path, self.color_type)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
