"""The last step of every pipeline: :class:`PackInputs`."""
import numpy as np

from minicls.registry import TRANSFORMS

from .base import BaseTransform, check_img

__all__ = ['PackInputs']


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Turn the results dict into the model's input: ``{'inputs': CHW uint8, 'gt_label': int,
    'sample_idx': int, 'img_path': str}`` (``gt_label`` and ``img_path`` only when known).

    The image stays uint8: normalization (``mean``/``std``) is the data preprocessor's job, on
    the whole batch, as in mmpretrain. An HW (2-D) image gets a channel axis of 1.

    Args:
        meta_keys (Sequence[str]): extra result keys to pass along (e.g. ``('flip',)``);
            missing ones are skipped.
        input_key (str): the result key holding the image. Default: ``'img'``.
        algorithm_keys (Sequence[str]): more keys passed along, as ``meta_keys``.
    """

    KEYS = ('gt_label', 'sample_idx', 'img_path')

    def __init__(self, meta_keys=(), input_key='img', algorithm_keys=()):
        self.meta_keys = tuple(meta_keys) + tuple(algorithm_keys)
        self.input_key = input_key

    def transform(self, results):
        img = results.get(self.input_key) if self.input_key != 'img' else check_img(
            results, 'PackInputs')
        if img is None:
            raise KeyError(f'PackInputs: no {self.input_key!r} in the results '
                           f'(keys: {sorted(results)})')
        img = np.asarray(img)
        if img.ndim == 2:
            img = img[:, :, None]
        if img.ndim != 3:
            raise ValueError(f'PackInputs expects an HWC image, got shape {img.shape}')
        packed = {'inputs': np.ascontiguousarray(img.transpose(2, 0, 1))}
        for key in self.KEYS + self.meta_keys:
            if key in results and results[key] is not None:
                value = results[key]
                packed[key] = int(value) if key in ('gt_label', 'sample_idx') else value
        return packed
