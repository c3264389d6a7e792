"""Transforms on small hand-made arrays: exact pixels, seeding, errors."""
import numpy as np
import pytest
from PIL import Image

from minicls.datasets.transforms import (CenterCrop, ColorJitter, Compose, LoadImageFromFile,
                                         PackInputs, RandomCrop, RandomFlip, RandomResizedCrop,
                                         Resize, ResizeEdge, get_rng, seed_transforms)
from minicls.registry import TRANSFORMS


def ramp(h=4, w=5, c=3):
    return np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c)


def test_random_crop_with_padding_matches_np_pad_reference():
    img = ramp(6, 7)
    crop = RandomCrop(crop_size=6, padding=2)
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)))
    seed_transforms(0)
    outs = [crop({'img': img})['img'] for _ in range(30)]
    seed_transforms(0)
    rng = get_rng()
    for out in outs:  # same draws, in mmpretrain's order: top first, then left
        top, left = rng.integers(0, 10 - 6 + 1), rng.integers(0, 11 - 6 + 1)  # padded 10x11
        np.testing.assert_array_equal(out, padded[top:top + 6, left:left + 6])
    assert len({o.tobytes() for o in outs}) > 5  # really random
    assert img.sum() == np.arange(126).sum()  # input untouched


def test_random_crop_modes_pad_val_and_pad_if_needed():
    img = np.full((2, 2, 3), 9, np.uint8)
    out = RandomCrop(crop_size=(4, 4), pad_if_needed=True, pad_val=(1, 2, 3))({'img': img})['img']
    assert out.shape == (4, 4, 3)
    assert (out == 9).all(axis=2).sum() == 4
    assert {tuple(p) for p in out.reshape(-1, 3)} == {(9, 9, 9), (1, 2, 3)}
    edge = RandomCrop(crop_size=4, padding=1, padding_mode='edge')({'img': img})['img']
    assert (edge == 9).all()
    # mmpretrain: a crop larger than the image without pad_if_needed shrinks to the image
    assert RandomCrop(crop_size=5)({'img': img})['img'].shape == (2, 2, 3)
    with pytest.raises(ValueError, match='padding_mode'):
        RandomCrop(4, padding_mode='wrap')


def test_seeded_transforms_are_reproducible():
    img = ramp(8, 8)
    pipe = Compose([dict(type='RandomCrop', crop_size=6, padding=2), dict(type='RandomFlip', prob=0.5)])
    seed_transforms(123)
    a = [pipe({'img': img})['img'] for _ in range(10)]
    seed_transforms(123)
    b = [pipe({'img': img})['img'] for _ in range(10)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_random_flip_directions_and_probability():
    img = ramp(3, 4)
    np.testing.assert_array_equal(RandomFlip(prob=1.0)({'img': img})['img'], img[:, ::-1])
    np.testing.assert_array_equal(
        RandomFlip(prob=1.0, direction='vertical')({'img': img})['img'], img[::-1])
    res = RandomFlip(prob=0.0)({'img': img})
    assert res['flip'] is False and res['img'] is img
    seed_transforms(1)
    flips = [RandomFlip(prob=0.5)({'img': img})['flip'] for _ in range(2000)]
    assert 0.45 < np.mean(flips) < 0.55
    with pytest.raises(ValueError, match='direction'):
        RandomFlip(prob=0.5, direction='sideways')


def test_center_crop_is_w_h_like_mmcv_and_resizes():
    img = ramp(6, 8)
    out = CenterCrop(crop_size=(4, 2))({'img': img})['img']  # (w, h)
    np.testing.assert_array_equal(out, img[2:4, 2:6])
    assert Resize(scale=(10, 3))({'img': img})['img'].shape == (3, 10, 3)  # (w, h)
    assert Resize(scale=(16, 16), keep_ratio=True)({'img': img})['img'].shape == (12, 16, 3)
    assert Resize(scale_factor=0.5)({'img': img})['img'].shape == (3, 4, 3)
    assert ResizeEdge(scale=3, edge='short')({'img': img})['img'].shape == (3, 4, 3)
    assert ResizeEdge(scale=4, edge='long')({'img': img})['img'].shape == (3, 4, 3)
    const = np.full((5, 5, 1), 77, np.uint8)
    assert (Resize(scale=9, interpolation='bicubic')({'img': const})['img'] == 77).all()


def test_random_resized_crop_output_size_and_content():
    seed_transforms(0)
    img = np.full((40, 30, 3), 200, np.uint8)
    t = RandomResizedCrop(scale=(16, 12))  # (h, w)
    for _ in range(5):
        out = t({'img': img})
        assert out['img'].shape == (16, 12, 3) and (out['img'] == 200).all()
    top, left, ch, cw = t.crop_box(40, 30)
    assert 0 <= top <= 40 - ch and 0 <= left <= 30 - cw
    assert 0.08 * 1200 * 0.8 <= ch * cw <= 1200


def test_color_jitter_changes_colors_but_zero_is_identity():
    seed_transforms(0)
    img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(ColorJitter()({'img': img})['img'], img)
    out = ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)({'img': img})['img']
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
    gray = np.full((4, 4, 3), 100, np.uint8)  # saturation alone cannot change a gray image
    np.testing.assert_array_equal(ColorJitter(saturation=0.9)({'img': gray})['img'], gray)


def test_pack_inputs_contract():
    img = ramp(4, 5)
    out = PackInputs()({'img': img[:, ::-1], 'gt_label': np.int64(3), 'sample_idx': 7,
                        'img_path': 'a.png', 'flip': True})
    assert sorted(out) == ['gt_label', 'img_path', 'inputs', 'sample_idx']
    assert out['inputs'].shape == (3, 4, 5) and out['inputs'].flags.c_contiguous
    np.testing.assert_array_equal(out['inputs'], img[:, ::-1].transpose(2, 0, 1))
    assert type(out['gt_label']) is int and out['gt_label'] == 3
    assert PackInputs()({'img': np.zeros((2, 3), np.uint8)})['inputs'].shape == (1, 2, 3)
    assert PackInputs(meta_keys=('flip',))({'img': img, 'flip': True})['flip'] is True
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        PackInputs()({'img_path': 'x.jpg'})


def test_load_image_from_file_rgb_gray_and_corrupt(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / 'c.png')
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / 'g.png')
    (tmp_path / 'bad.jpg').write_bytes(b'\xff\xd8\xff\xe0 definitely not a jpeg')
    load = LoadImageFromFile()
    out = load({'img_path': str(tmp_path / 'c.png')})
    np.testing.assert_array_equal(out['img'], rgb)
    assert out['img_shape'] == (5, 6) and out['ori_shape'] == (5, 6)
    gray = load({'img_path': str(tmp_path / 'g.png')})['img']
    assert gray.shape == (5, 6, 3) and (gray == rgb[:, :, :1]).all()
    one = LoadImageFromFile(color_type='grayscale')({'img_path': str(tmp_path / 'g.png')})['img']
    np.testing.assert_array_equal(one[:, :, 0], rgb[:, :, 0])
    with pytest.raises(OSError, match='bad.jpg'):
        load({'img_path': str(tmp_path / 'bad.jpg')})
    with pytest.raises(FileNotFoundError, match='nope.png'):
        load({'img_path': str(tmp_path / 'nope.png')})


def test_compose_builds_from_configs_and_names_failing_step():
    pipe = TRANSFORMS.build(dict(type='Compose', transforms=[
        dict(type='CenterCrop', crop_size=2), lambda r: {**r, 'seen': True},
        dict(type='PackInputs', meta_keys=('seen',))]))
    out = pipe({'img': ramp(4, 4), 'gt_label': 1})
    assert out['inputs'].shape == (3, 2, 2) and out['seen'] is True and len(pipe) == 3
    with pytest.raises(KeyError, match='RandomCropp'):
        Compose([dict(type='RandomCropp', crop_size=2)])
    with pytest.raises(TypeError, match='returned None'):
        Compose([lambda r: None])({'img': ramp()})
    with pytest.raises(KeyError) as info:
        Compose([dict(type='PackInputs')])({'gt_label': 1})
    assert any('pipeline step 0' in n for n in getattr(info.value, '__notes__', ['pipeline step 0']))
