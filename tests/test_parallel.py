"""minicls.parallel: the thread pool behind the conv's blocks, and the conv on several threads;
batch_norm's blocks of channels (threads) and of images."""
import os
import threading
import time

import numpy as np
import pytest

import minicls
import minicls.nn.functional as F
from minicls import parallel
from minicls.nn.functional import conv as conv_module
from minicls.nn.functional import normalization
from minicls.nn.functional import reference as R

needs_local_blas = pytest.mark.skipif(
    parallel._blas_set is None or parallel._blas_get is None,
    reason="this NumPy's BLAS is not OpenBLAS: the pool stays off")


def test_parallel_for_returns_results_in_order(threads):
    parallel.set_num_threads(3)
    assert parallel.parallel_for(lambda i: i * i, range(20)) == [i * i for i in range(20)]


@needs_local_blas
def test_parallel_for_uses_the_pool_threads(threads):
    parallel.set_num_threads(2)
    barrier = threading.Barrier(2, timeout=10)

    def meet(_):
        barrier.wait()   # only returns if two threads are inside at once
        return threading.current_thread().name
    names = parallel.parallel_for(meet, range(2))
    assert all(name.startswith('minicls') for name in names)


@needs_local_blas
def test_the_pool_runs_blas_on_one_thread_until_set_num_threads_ends_it(threads):
    """OpenBLAS has one thread count per process: the pool sets it to 1 for its GEMMs (and
    for the process, see minicls/parallel.py), set_num_threads gives the old count back."""
    parallel.set_num_threads(1)                  # no pool: BLAS has its count
    before = parallel._blas_get()
    assert parallel.set_blas_threads(2)          # NumPy's scipy-openblas names are found too
    if parallel._blas_get() != 2:
        pytest.skip('OpenBLAS gives this machine only one thread')
    try:
        parallel.set_num_threads(2)
        inside = parallel.parallel_for(lambda _: parallel._blas_get(), range(4))
        assert inside == [1, 1, 1, 1] and parallel._blas_get() == 1
        parallel.set_num_threads(1)               # ends the pool: BLAS's 2 threads are back
        assert parallel._blas_get() == 2
        minicls.nn.functional.conv2d(minicls.randn(4, 64, 8, 8), minicls.randn(64, 64, 3, 3))
        assert parallel._blas_get() == 2          # one thread: no pool, BLAS untouched
    finally:
        parallel.set_num_threads(1)
        parallel.set_blas_threads(before)


def test_one_thread_runs_everything_here(threads):
    parallel.set_num_threads(1)
    names = parallel.parallel_for(lambda _: threading.current_thread().name, range(4))
    assert names == [threading.current_thread().name] * 4


def test_a_blas_without_thread_control_runs_here_and_says_so_once(threads, monkeypatch, log):
    """Where NumPy's BLAS is not OpenBLAS (MKL...), minicls cannot put the pool's GEMMs on one
    BLAS thread each, so it runs the blocks here: not silently, one warning in the log."""
    parallel.set_num_threads(1)                  # ends any pool while BLAS can still be set
    monkeypatch.setattr(parallel, '_blas_set', None)
    monkeypatch.setattr(parallel, '_said_no_openblas', [])
    parallel.set_num_threads(2)
    names = parallel.parallel_for(lambda _: threading.current_thread().name, range(4))
    parallel.parallel_for(lambda _: None, range(4))
    assert names == [threading.current_thread().name] * 4
    said = [r.getMessage() for r in log.records if 'not OpenBLAS' in r.getMessage()]
    assert len(said) == 1 and 'one thread' in said[0]


def test_nested_parallel_for_does_not_deadlock(threads):
    parallel.set_num_threads(2)
    inner = lambda i: sum(parallel.parallel_for(lambda j: i + j, range(3)))  # noqa: E731
    assert parallel.parallel_for(inner, range(4)) == [3 * i + 3 for i in range(4)]


def test_errors_in_a_thread_reach_the_caller(threads):
    parallel.set_num_threads(2)

    def fail(i):
        if i == 3:
            raise ValueError('block 3')
        return i
    with pytest.raises(ValueError, match='block 3'):
        parallel.parallel_for(fail, range(6))


def test_set_num_threads_checks_its_argument(threads):
    with pytest.raises(ValueError, match='positive'):
        minicls.set_num_threads(0)
    minicls.set_num_threads(2)
    assert minicls.get_num_threads() == 2


def test_blocks_are_balanced_over_the_threads(threads, monkeypatch):
    monkeypatch.setattr(conv_module, 'BLOCK_BYTES', 4000)
    geometry = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (6, 6), 1)
    x = np.zeros((10, 2, 6, 6), np.float32)          # 2*9*36*4 = 2592 bytes of columns per image
    for n in (1, 2, 3):
        parallel.set_num_threads(n)
        blocks = conv_module._blocks(x, geometry)
        assert len(blocks) % n == 0 or len(blocks) == 10
        covered = np.concatenate([np.arange(10)[b] for b in blocks])
        np.testing.assert_array_equal(covered, np.arange(10))


@pytest.mark.parametrize('n_threads', [1, 2, 3])
def test_conv_on_several_threads_matches_one_thread_and_repeats_exactly(n_threads, threads,
                                                                        monkeypatch):
    monkeypatch.setattr(conv_module, 'BLOCK_BYTES', 3000)   # several blocks per conv
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 4, 6, 5)).astype(np.float32)
    b = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)

    def run():
        x = minicls.tensor(a, requires_grad=True)
        w = minicls.tensor(b, requires_grad=True)
        y = F.conv2d(x, w, padding=1, groups=2)
        y.square().sum().backward()
        return y.numpy(), x.grad.numpy(), w.grad.numpy()
    parallel.set_num_threads(1)
    reference = run()
    parallel.set_num_threads(n_threads)
    first, second = run(), run()
    for ours, again, ref in zip(first, second, reference):
        np.testing.assert_array_equal(ours, again)           # the same bits on every run
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_batch_blocks_cut_the_batch_by_bytes_in_a_multiple_of_the_threads(threads):
    """conv's im2col columns and Winograd's tiles both cut the batch with batch_blocks."""
    parallel.set_num_threads(2)
    assert parallel.batch_blocks(10, 100, 1000) == [slice(0, 5), slice(5, 10)]   # 1 -> 2 blocks
    assert parallel.batch_blocks(10, 100, 250) == [slice(i, i + 2) for i in range(0, 10, 2)]
    assert parallel.batch_blocks(3, 10**6, 1000) == [slice(i, i + 1) for i in range(3)]  # >= 1
    assert parallel.batch_blocks(0, 100, 1000) == [slice(0, 0)]
    assert parallel.batch_blocks(10, 100, 250, xp=object()) == [slice(0, 10)]   # a GPU: one
    parallel.set_num_threads(3)
    assert len(parallel.batch_blocks(12, 100, 250)) == 6                          # 5 -> 6


def test_split_cuts_a_range_into_one_slice_per_thread(threads):
    for n in (1, 2, 3):
        parallel.set_num_threads(n)
        for length in (0, 1, 2, 5, 64):
            slices = parallel.split(length)
            assert len(slices) == max(1, min(n, length))
            covered = np.concatenate([np.arange(length)[s] for s in slices])
            np.testing.assert_array_equal(covered, np.arange(length))
    assert parallel.split(64, xp=object()) == [slice(0, 64)]    # not NumPy (a GPU): one slice


@pytest.mark.parametrize('shape', [(6, 5, 4, 3), (9, 3)])
@pytest.mark.parametrize('block', [None, 20])
def test_batch_norm_gives_the_same_bits_on_any_number_of_threads(shape, block, threads,
                                                                 monkeypatch):
    """Each thread takes a block of channels, and a channel's sums do not depend on which
    block it is in: training gives the same numbers whatever the thread count. Also when the
    passes go over blocks of images (``block``: elements a block, so 1 to 6 images)."""
    monkeypatch.setattr(normalization, 'PARALLEL_MIN_SIZE', 1)     # threads even for tiny x
    if block:
        monkeypatch.setattr(normalization, 'BLOCK', block)
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    wb = rng.standard_normal((2, shape[1])).astype(np.float32)

    def run():
        x = minicls.tensor(a, requires_grad=True)
        w, b = (minicls.tensor(p, requires_grad=True) for p in wb)
        mean, var = minicls.zeros(shape[1]), minicls.ones(shape[1])
        y = F.batch_norm(x, mean, var, w, b, training=True)
        (y * minicls.tensor(g)).sum().backward()
        return [t.numpy() for t in (y, x.grad, w.grad, b.grad, mean, var)]
    parallel.set_num_threads(1)
    reference = run()
    for n in (2, 3):
        parallel.set_num_threads(n)
        for ours, ref in zip(run(), reference):
            np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize('block', [1, 50])
def test_batch_norm_in_blocks_of_images_matches_the_reference(block, monkeypatch):
    """Training makes its passes block by block over the images: one image a block (block=1),
    or blocks of 2 images and a last one of 1 (50 elements, 24 an image, N = 5)."""
    monkeypatch.setattr(normalization, 'BLOCK', block)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 4, 2)) * 3 + 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = np.zeros(3), np.ones(3)
    tol = dict(rtol=1e-10, atol=1e-10)
    assert len(normalization._image_blocks(x.reshape(5, 3, -1), np)) == (5 if block == 1 else 3)
    fast = [minicls.tensor(a, requires_grad=True) for a in (x, w, b)]
    run_mean, run_var = minicls.tensor(mean), minicls.tensor(var)
    out = F.batch_norm(fast[0], run_mean, run_var, *fast[1:], training=True)
    np.testing.assert_allclose(out.numpy(), R.batch_norm(x, mean, var, w, b, training=True), **tol)
    np.testing.assert_allclose(run_mean.numpy(), mean, **tol)
    np.testing.assert_allclose(run_var.numpy(), var, **tol)
    g = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(minicls.tensor(g))
    expected = R.batch_norm_backward(g, x, np.zeros(3), np.ones(3), w, b, training=True)
    for t, e in zip(fast, expected):
        np.testing.assert_allclose(t.grad.numpy(), e, **tol)


@needs_local_blas
@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_child_gets_a_fresh_pool(threads):
    """The pool's threads do not survive fork(): a child (a DataLoader worker) must not wait on
    them forever."""
    parallel.set_num_threads(2)
    parallel.parallel_for(lambda i: i, range(4))        # the parent's pool exists now
    pid = os.fork()
    if pid == 0:                                        # child: exit 0 only if it works
        ok = parallel.parallel_for(lambda i: i + 1, range(4)) == [1, 2, 3, 4]
        os._exit(0 if ok else 1)
    deadline = time.time() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.kill(pid, 9)
            pytest.fail('the forked child hung on the parent pool')
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


@needs_local_blas
@pytest.mark.parametrize('n_threads', [1, 2, 3])
@pytest.mark.parametrize('a_shape,b_shape,cut', [
    ((7, 5), (5, 3), True), ((6, 4, 5), (6, 5, 2), True), ((6, 4, 5), (5, 2), True),
    ((2, 3, 4, 5), (2, 3, 5, 2), True), ((6, 4, 5), (1, 5, 2), False), ((5,), (5, 3), False)])
def test_matmul_on_the_threads_is_a_at_b(n_threads, a_shape, b_shape, cut, threads,
                                          monkeypatch):
    """Linear, MatMul and attention multiply with parallel.matmul: rows (or the batch) cut into
    one block per thread; broadcast batches and 1-D operands take a @ b itself."""
    monkeypatch.setattr(parallel, 'MATMUL_MIN_WORK', 0)        # cut even these small ones
    calls = []
    real = parallel.parallel_for
    monkeypatch.setattr(parallel, 'parallel_for',
                        lambda fn, items: calls.append(len(items)) or real(fn, items))
    parallel.set_num_threads(n_threads)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    out = parallel.matmul(a, b)
    np.testing.assert_allclose(out, a @ b, rtol=1e-6, atol=1e-6)
    assert out.shape == (a @ b).shape and out.dtype == (a @ b).dtype
    assert calls == ([min(n_threads, a_shape[0])] if cut and n_threads > 1 else [])
    transposed = parallel.matmul(a.T, a) if a.ndim == 2 else None   # a strided view (Linear's dW)
    if transposed is not None:
        np.testing.assert_allclose(transposed, a.T @ a, rtol=1e-5, atol=1e-5)
