"""F.interpolate beyond the op table: float64 parity with torch (forward and input gradient)
over a grid of modes and sizes, mmpretrain's position-embedding resize, and the errors."""
import numpy as np
import pytest

import minicls
import minicls.nn.functional as F

torch = pytest.importorskip('torch')

GRID = [
    dict(size=(9, 11), mode='nearest'),
    dict(size=(3, 2), mode='nearest'),
    dict(scale_factor=(1 / 3, 0.7), mode='nearest'),
    dict(size=(5, 13), mode='nearest-exact'),
    dict(size=(9, 4), mode='bilinear', align_corners=False),
    dict(size=(9, 4), mode='bilinear', align_corners=True),
    dict(size=(1, 1), mode='bilinear', align_corners=True),
    dict(scale_factor=1.75, mode='bilinear', recompute_scale_factor=True),
    dict(size=(24, 24), mode='bicubic', align_corners=False),   # a 14x14 grid of pos embeds
    dict(size=(5, 3), mode='bicubic', align_corners=False),
    dict(scale_factor=(2.0, 0.5), mode='bicubic', align_corners=True),
]


@pytest.mark.parametrize('kwargs', GRID, ids=lambda kw: '-'.join(map(str, kw.values())))
def test_interpolate_float64_matches_torch(kwargs):
    x = np.random.default_rng(0).standard_normal((2, 3, 14, 6))
    ours = minicls.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, ref = F.interpolate(ours, **kwargs), torch.nn.functional.interpolate(theirs, **kwargs)
    assert y.shape == tuple(ref.shape) and y.dtype == minicls.float64
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(minicls.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_resize_pos_embed_as_mmpretrain():
    """mmpretrain's resize_pos_embed: (1, 1 + 7*7, C) -> grid (1, C, 7, 7) -> bicubic 10x10."""
    pos = np.random.default_rng(2).standard_normal((1, 1 + 49, 8)).astype(np.float32)

    def resize(lib, p):
        grid = p[:, 1:].reshape(1, 7, 7, 8).permute(0, 3, 1, 2)
        out = lib.nn.functional.interpolate(grid, size=(10, 10), align_corners=False,
                                            mode='bicubic')
        return lib.cat((p[:, :1], out.flatten(2).transpose(1, 2)), dim=1)
    ours, theirs = resize(minicls, minicls.tensor(pos)), resize(torch, torch.tensor(pos))
    assert ours.shape == (1, 101, 8)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('args, kwargs, message', [
    ((), {}, 'exactly one of size and scale_factor'),
    ((), dict(size=4, scale_factor=2), 'exactly one of size and scale_factor'),
    ((), dict(size=4, mode='cubic'), 'mode must be one of'),
    ((), dict(size=4, mode='linear'), "needs a 3-D"),
    ((), dict(size=4, align_corners=True), 'align_corners option'),
    ((), dict(size=(4, 0)), 'size must be a positive'),
    ((), dict(scale_factor=0.1), 'makes an empty output'),
    ((), dict(scale_factor=(2, 2, 2)), 'scale_factor must be'),
])
def test_interpolate_errors(args, kwargs, message):
    x = minicls.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=message):
        F.interpolate(x, *args, **kwargs)


def test_interpolate_rejects_integer_input_and_antialias():
    with pytest.raises(TypeError, match='floating point'):
        F.interpolate(minicls.zeros(1, 1, 2, 2, dtype=minicls.int64), size=3)
    with pytest.raises(NotImplementedError, match='antialias'):
        F.interpolate(minicls.zeros(1, 1, 2, 2), size=3, mode='bilinear', antialias=True)
