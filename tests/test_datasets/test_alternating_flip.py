"""AlternatingFlip (each image mirrored on alternate epochs) and reflect-padded translation."""
import numpy as np
import pytest

from minicls.datasets import DataLoader
from minicls.datasets.transforms import (AlternatingFlip, RandomCrop, get_epoch,
                                         seed_transforms)


def sample(i, img=None):
    img = np.arange(2 * 3 * 3).reshape(2, 3, 3).astype(np.uint8) if img is None else img
    return {'img': img, 'sample_idx': i}


def test_each_image_flips_on_alternate_epochs():
    flip = AlternatingFlip(seed=3)
    seen = np.zeros((4, 200), dtype=bool)
    for epoch in range(4):
        seed_transforms(0, epoch=epoch)
        for i in range(200):
            out = flip(sample(i))
            seen[epoch, i] = out['flip']
            expected = sample(i)['img'][:, ::-1] if out['flip'] else sample(i)['img']
            np.testing.assert_array_equal(out['img'], expected)
            assert out['flip_direction'] == ('horizontal' if out['flip'] else None)
    np.testing.assert_array_equal(seen[1], ~seen[0])
    np.testing.assert_array_equal(seen[2], seen[0])
    np.testing.assert_array_equal(seen[3], ~seen[0])
    assert 80 <= seen[0].sum() <= 120                  # about half start mirrored
    other = [AlternatingFlip(seed=4).first_flip(i) for i in range(200)]
    assert other != list(seen[0])                      # the seed chooses which


def test_the_loader_passes_the_epoch():
    class Data:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            results = AlternatingFlip()(sample(i))
            return {'flip': results['flip'], 'epoch': get_epoch()}

    loader = DataLoader(Data(), batch_size=4, shuffle=False)
    first, second = list(loader)[0], list(loader)[0]
    assert list(first['epoch']) == [0] * 4 and list(second['epoch']) == [1] * 4
    np.testing.assert_array_equal(second['flip'], ~first['flip'])


def test_needs_sample_idx():
    with pytest.raises(KeyError, match='sample_idx'):
        AlternatingFlip()({'img': np.zeros((2, 2, 3), np.uint8)})


def test_translate_with_reflect_padding_exact_pixels():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    crop = RandomCrop(crop_size=4, padding=2, padding_mode='reflect')
    # padded row of [0 1 2 3] with reflection: [2 1 | 0 1 2 3 | 2 1]
    outs = {}
    for seed in range(200):
        seed_transforms(seed)
        out = crop({'img': img})['img']
        outs[out.tobytes()] = out
    assert len(outs) == 25                           # every shift in [-2, 2]^2
    reflect = np.pad(img, 2, mode='reflect')
    for top in range(5):
        for left in range(5):
            assert reflect[top:top + 4, left:left + 4].tobytes() in outs
    # moved 2 pixels right, the left border mirrored (pixels 2 and 1 of each row)
    right2 = np.array([[2, 1, 0, 1], [6, 5, 4, 5], [10, 9, 8, 9], [14, 13, 12, 13]], np.uint8)
    assert right2.tobytes() in outs
    # moved 1 down and 1 left
    down1_left1 = np.array([[5, 6, 7, 6], [1, 2, 3, 2], [5, 6, 7, 6], [9, 10, 11, 10]], np.uint8)
    assert down1_left1.tobytes() in outs
