"""Cropping and flipping: :class:`RandomCrop`, :class:`CenterCrop`, :class:`RandomFlip`,
:class:`AlternatingFlip`.

Conventions follow mmpretrain / mmcv, which are not uniform, so read each docstring:
``RandomCrop.crop_size`` is ``(h, w)`` (mmpretrain) while ``CenterCrop.crop_size`` is
``(w, h)`` (mmcv). An int always means a square.
"""
import numpy as np

from minicls.registry import TRANSFORMS
from minicls.utils import to_2tuple

from .base import BaseTransform, check_img, get_epoch, get_rng

__all__ = ['RandomCrop', 'CenterCrop', 'RandomFlip', 'AlternatingFlip']

_PAD_MODES = ('constant', 'edge', 'reflect', 'symmetric')


def _padding_ltrb(padding):
    """``padding`` as (left, top, right, bottom): int -> all four; 2 -> (lr, tb); 4 as is."""
    if padding is None:
        return 0, 0, 0, 0
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding
    raise ValueError(f'padding must be an int or a sequence of 2 or 4 ints, got {padding!r}')


def pad_and_crop(img, top, left, out_h, out_w, pad, pad_val=0, padding_mode='constant'):
    """Crop rows ``top:top+out_h`` / columns ``left:left+out_w`` of ``img`` padded by ``pad``.

    ``pad`` is (left, top, right, bottom). For ``'constant'`` padding the padded image is never
    built: the output starts as ``pad_val`` everywhere and only the part of the window that
    overlaps the real image is copied in. That is the same result as ``np.pad`` then slicing,
    at a fraction of the copying.
    """
    pl, pt, pr, pb = pad
    if padding_mode != 'constant':
        widths = ((pt, pb), (pl, pr)) + ((0, 0),) * (img.ndim - 2)
        return np.pad(img, widths, mode=padding_mode)[top:top + out_h, left:left + out_w]
    if pad == (0, 0, 0, 0):
        return img[top:top + out_h, left:left + out_w]
    h, w = img.shape[:2]
    out = np.empty((out_h, out_w) + img.shape[2:], dtype=img.dtype)
    out[...] = pad_val
    y0, x0 = top - pt, left - pl              # window corner in the unpadded image
    ys, ye = max(y0, 0), min(y0 + out_h, h)
    xs, xe = max(x0, 0), min(x0 + out_w, w)
    if ye > ys and xe > xs:
        out[ys - y0:ye - y0, xs - x0:xe - x0] = img[ys:ye, xs:xe]
    return out


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Pad the image (optionally), then crop a random window.

    The CIFAR recipe is ``RandomCrop(crop_size=32, padding=4)``: 4 black pixels on every side
    (40x40), then a random 32x32 window, i.e. a random shift of up to 4 pixels.

    Args:
        crop_size (int | tuple): output size, ``(h, w)`` or an int for a square.
        padding (int | Sequence | None): pixels added on each border first; an int for all four,
            ``(lr, tb)`` or ``(left, top, right, bottom)``.
        pad_if_needed (bool): pad further (top and bottom / left and right by the shortfall) when
            the image is smaller than the crop. Without it a too-small image gives a smaller crop.
        pad_val (int | Sequence): fill value for ``'constant'``, one number or one per channel.
        padding_mode (str): ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(self, crop_size, padding=None, pad_if_needed=False, pad_val=0,
                 padding_mode='constant'):
        self.crop_size = to_2tuple(crop_size, 'crop_size')
        if min(self.crop_size) <= 0:
            raise ValueError(f'crop_size must be positive, got {crop_size!r}')
        if padding_mode not in _PAD_MODES:
            raise ValueError(f'padding_mode must be one of {_PAD_MODES}, got {padding_mode!r}')
        _padding_ltrb(padding)  # validate now rather than on the first image
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    def transform(self, results):
        img = check_img(results, 'RandomCrop')
        h, w = img.shape[:2]
        th, tw = self.crop_size
        pl, pt, pr, pb = _padding_ltrb(self.padding)
        if self.pad_if_needed:
            extra_h = max(0, th - (h + pt + pb))
            extra_w = max(0, tw - (w + pl + pr))
            pt, pb, pl, pr = pt + extra_h, pb + extra_h, pl + extra_w, pr + extra_w
        ph, pw = h + pt + pb, w + pl + pr
        th, tw = min(th, ph), min(tw, pw)
        rng = get_rng()
        top = int(rng.integers(0, ph - th + 1))
        left = int(rng.integers(0, pw - tw + 1))
        img = pad_and_crop(img, top, left, th, tw, (pl, pt, pr, pb), self.pad_val,
                           self.padding_mode)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre of the image (mmcv's ``CenterCrop``).

    Args:
        crop_size (int | tuple): output size, ``(w, h)`` as in mmcv, or an int for a square.
        auto_pad (bool): pad the bottom and right with ``pad_val`` when the image is smaller
            than the crop; otherwise a smaller image gives a smaller crop.
        pad_val (int | Sequence): fill value for ``auto_pad``.
    """

    def __init__(self, crop_size, auto_pad=False, pad_val=0):
        self.crop_size = to_2tuple(crop_size, 'crop_size')
        if min(self.crop_size) <= 0:
            raise ValueError(f'crop_size must be positive, got {crop_size!r}')
        self.auto_pad = auto_pad
        self.pad_val = pad_val

    def transform(self, results):
        img = check_img(results, 'CenterCrop')
        h, w = img.shape[:2]
        cw, ch = self.crop_size
        pad = (0, 0, max(0, cw - w), max(0, ch - h)) if self.auto_pad else (0, 0, 0, 0)
        ph, pw = h + pad[3], w + pad[2]
        ch, cw = min(ch, ph), min(cw, pw)
        top = max(0, int(round((ph - ch) / 2.)))
        left = max(0, int(round((pw - cw) / 2.)))
        img = pad_and_crop(img, top, left, ch, cw, pad, self.pad_val)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results


_FLIPS = {
    'horizontal': lambda img: img[:, ::-1],
    'vertical': lambda img: img[::-1],
    'diagonal': lambda img: img[::-1, ::-1],
}


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip the image with probability ``prob`` (mmcv's ``RandomFlip``).

    Args:
        prob (float | list[float]): probability of flipping; with a list of directions, either
            one probability per direction or a single one shared equally among them.
        direction (str | list[str]): ``'horizontal'`` (left-right), ``'vertical'`` or
            ``'diagonal'`` (both).

    Adds ``flip`` (bool) and ``flip_direction`` (str or None) to the results.
    """

    def __init__(self, prob=None, direction='horizontal'):
        directions = [direction] if isinstance(direction, str) else list(direction)
        for d in directions:
            if d not in _FLIPS:
                raise ValueError(f'direction must be one of {sorted(_FLIPS)}, got {d!r}')
        if prob is None:
            probs = [0.0] * len(directions)
        elif isinstance(prob, (list, tuple)):
            probs = [float(p) for p in prob]
            if len(probs) != len(directions):
                raise ValueError(f'{len(probs)} probabilities for {len(directions)} directions')
        else:
            probs = [float(prob) / len(directions)] * len(directions)
        if any(p < 0 for p in probs) or sum(probs) > 1 + 1e-9:
            raise ValueError(f'flip probabilities must be >= 0 and sum to <= 1, got {prob!r}')
        self.prob = prob
        self.direction = direction
        self._choices = list(zip(directions, np.cumsum(probs)))

    def transform(self, results):
        img = check_img(results, 'RandomFlip')
        u = get_rng().random()
        chosen = next((d for d, cum in self._choices if u < cum), None)
        if chosen is not None:
            results['img'] = _FLIPS[chosen](img)
        results['flip'] = chosen is not None
        results['flip_direction'] = chosen
        return results


@TRANSFORMS.register_module()
class AlternatingFlip(BaseTransform):
    """Flip each image left-right on every other epoch ("derandomized" flipping).

    A random flip with probability 0.5 shows an image the same way twice in a row half of the
    time; over a short schedule some images are never seen mirrored. Here image ``i`` is
    flipped in epoch ``e`` iff ``first(i) XOR (e odd)``, where ``first(i)`` is a fixed coin
    toss per image (a hash of ``seed`` and ``sample_idx``): each image alternates, and half of
    them start mirrored. The epoch comes from the data loader (:func:`get_epoch`).

    Args:
        seed (int): chooses which images start flipped. Defaults to 0.

    Needs ``sample_idx`` in the results (every minicls dataset sets it). Adds ``flip`` and
    ``flip_direction`` as :class:`RandomFlip` does.
    """

    def __init__(self, seed=0):
        self.seed = int(seed)

    def first_flip(self, sample_idx):
        """The coin toss of epoch 0: the top bit of a multiplicative hash (Knuth)."""
        key = (int(sample_idx) + 0x9E3779B9 * (self.seed + 1)) % 2 ** 32
        return bool((key * 2654435761) % 2 ** 32 >> 31)

    def transform(self, results):
        img = check_img(results, 'AlternatingFlip')
        if 'sample_idx' not in results:
            raise KeyError('AlternatingFlip needs "sample_idx" in the results (datasets set it);'
                           ' use RandomFlip for samples without an index')
        flip = self.first_flip(results['sample_idx']) != (get_epoch() % 2 == 1)
        if flip:
            results['img'] = img[:, ::-1]
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        return results
