"""The depthwise conv's blocks (minicls/nn/functional/depthwise.py): whole-row columns at
stride 1, dx through dy scattered into zeros at every stride, one image per block or all in
one, odd channel counts, the thread pool on and off, the same bits whatever the blocking."""
import numpy as np
import pytest

import minicls
from minicls.nn.functional import depthwise
from minicls.nn.functional import reference as R

TOL = dict(rtol=1e-4, atol=1e-4)   # float32 against the float64 reference


def geometry(x_shape, kernel, stride, padding, dilation):
    out = tuple((x_shape[2 + a] + padding[2 * a] + padding[2 * a + 1]
                 - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1 for a in (0, 1))
    return kernel, stride, padding, dilation, out, x_shape[1]


def run(x, w, gy, geom, blocks, threads):
    minicls.set_num_threads(threads)
    y = depthwise.forward(x, w, geom, blocks)
    gx, gw = depthwise.backward(gy, x, w, geom, x.shape, blocks)
    return y, gx, gw


GEOMETRIES = [((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
              ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
              ((2, 3), (1, 1), (0, 1, 2, 1), (2, 1)),           # 'same'-like, uneven, dilated
              ((2, 2), (3, 2), (3, 0, 1, 3), (1, 2)),           # padding past the kernel's reach
              ((1, 1), (2, 3), (2, 2, 0, 1), (1, 1))]


@pytest.mark.parametrize('kernel,stride,padding,dilation', GEOMETRIES)
def test_every_blocking_matches_the_reference_with_the_same_bits(kernel, stride, padding,
                                                                   dilation, threads):
    rng = np.random.default_rng(0)
    n, c = 5, 7                                                       # odd channel count
    x = rng.standard_normal((n, c, 9, 8), dtype=np.float32)
    w = rng.standard_normal((c, 1) + kernel, dtype=np.float32)
    geom = geometry(x.shape, kernel, stride, padding, dilation)
    gy = rng.standard_normal((n, c) + geom[4], dtype=np.float32)
    top, bottom, left, right = padding          # the reference pads evenly: pad here
    x_pad = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    kwargs = dict(stride=stride, dilation=dilation, groups=c)
    y_ref = R.conv2d(x_pad, w.astype(np.float64), None, **kwargs)
    gx_ref, gw_ref, _ = R.conv2d_backward(gy.astype(np.float64), x_pad, w.astype(np.float64),
                                          None, **kwargs)
    gx_ref = gx_ref[:, :, top:top + x.shape[2], left:left + x.shape[3]]
    results = []
    for blocks in ([slice(0, n)], [slice(i, i + 1) for i in range(n)],
                   [slice(0, 2), slice(2, 5)]):
        for threads in (1, 2):
            results.append(run(x, w, gy, geom, blocks, threads))
    for got in results:
        for ours, expected, name in zip(got, (y_ref, gx_ref, gw_ref), ('y', 'dx', 'dW')):
            assert ours.dtype == np.float32, name
            np.testing.assert_allclose(ours, expected, **TOL, err_msg=name)
            np.testing.assert_array_equal(ours, results[0][('y', 'dx', 'dW').index(name)])


def test_the_flipped_weight_reaches_matmul_without_negative_strides(monkeypatch):
    """A W[..., ::-1, ::-1] view has negative strides: matmul then skips BLAS (2.5x slower)."""
    seen = []
    real = np.matmul

    def spy(*args, **kwargs):
        seen.extend(min(a.strides) for a in args if isinstance(a, np.ndarray) and a.ndim)
        return real(*args, **kwargs)
    monkeypatch.setattr(np, 'matmul', spy)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6), dtype=np.float32)
    w = rng.standard_normal((3, 1, 3, 3), dtype=np.float32)
    geom = geometry(x.shape, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    gx, _ = depthwise.backward(np.ones_like(x), None, w, geom, x.shape, [slice(0, 2)])
    assert seen and min(seen) >= 0
    expected = R.conv2d_backward(np.ones(x.shape), x.astype(np.float64),
                                 w.astype(np.float64), None, padding=1, groups=3)[0]
    np.testing.assert_allclose(gx, expected, **TOL)


def test_the_conv_cuts_depthwise_batches_by_its_own_block_budget(monkeypatch, threads):
    """``depthwise.BLOCK_BYTES`` sizes the blocks, not the GEMM convs' ``conv.BLOCK_BYTES``:
    one image per block when an image's columns exceed it."""
    sizes = []
    real = depthwise.forward

    def spy(x, weight, geom, blocks):
        sizes.extend(b.stop - b.start for b in blocks)
        return real(x, weight, geom, blocks)
    monkeypatch.setattr(depthwise, 'forward', spy)
    minicls.set_num_threads(1)
    x = minicls.tensor(np.zeros((4, 8, 32, 32), dtype=np.float32))      # 288 KiB of columns
    w = minicls.tensor(np.zeros((8, 1, 3, 3), dtype=np.float32))
    minicls.nn.functional.conv2d(x, w, padding=1, groups=8)
    monkeypatch.setattr(depthwise, 'BLOCK_BYTES', 300 * 2**10)
    minicls.nn.functional.conv2d(x, w, padding=1, groups=8)
    assert sizes == [4, 1, 1, 1, 1]
