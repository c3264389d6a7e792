"""Intra-op parallelism: running one op's independent blocks of work on several CPU cores.

NumPy runs everything on one core except BLAS calls, which OpenBLAS splits over its own
threads. For a convolution that is not enough: half of its time is im2col/col2im copies and
transposes, which NumPy does on one core while OpenBLAS's threads spin, waiting for the next
GEMM. PyTorch instead splits a conv over the images of the batch (``at::parallel_for``) and
runs a single-threaded GEMM in each thread. So does minicls: the conv cuts the batch into
blocks, and ``parallel_for`` hands the blocks to a pool of threads. NumPy releases the GIL
inside its copies and inside BLAS, so the threads really run at the same time.

The GEMMs inside the pool must run on one BLAS thread each, and OpenBLAS (the BLAS in NumPy's
wheels) keeps one thread count for the whole process (even its
``openblas_set_num_threads_local`` changes it for every thread, in its pthreads build). So
while the pool exists, OpenBLAS runs on one thread everywhere in the process, NumPy matmuls
outside minicls's ops included: the pool sets it when it starts, and
``minicls.set_num_threads(n)`` gives BLAS its former count back when it ends the pool. (Giving
it back after every op was measured: OpenBLAS's own threads then spin, waiting for work,
between the ops, and take the cores from the pool: the ResNet_CIFAR-18 step went from 1.4 to
2.2 s on 2 cores.) Where NumPy's BLAS is not OpenBLAS (MKL), ``parallel_for`` runs the blocks
one after another and BLAS's own threads do the parallel work.

    minicls.set_num_threads(1)     # as torch.set_num_threads: 1 turns the pool off
    minicls.get_num_threads()      # default: the CPU cores this process may use
"""
import ctypes
import glob
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_lock = threading.Lock()
_local = threading.local()   # .in_pool is True in the pool's own threads
_pool = None
_num_threads = None


def _cores():
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def get_num_threads():
    """Threads used for intra-op parallelism (the conv's blocks)."""
    return _num_threads or _cores()


def set_num_threads(n):
    """Use ``n`` threads for intra-op parallelism (``n = 1``: none), as ``torch.set_num_threads``.

    It ends the current pool, which gives BLAS back the thread count it had before the pool
    started (``OPENBLAS_NUM_THREADS`` at NumPy's start, or ``set_blas_threads``); a new pool,
    started by the next op with ``n >= 2``, sets BLAS to one thread again."""
    global _num_threads, _pool
    n = int(n)
    if n < 1:
        raise ValueError(f'set_num_threads: expected a positive number of threads, got {n}')
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True)
            _blas_set(_blas_saved)
        _num_threads, _pool = n, None


def _openblas(name):
    """OpenBLAS's function ``name`` from the library NumPy loaded, or None. NumPy's wheels bundle
    scipy-openblas, which exports its functions with a prefix and an ILP64 suffix
    (``scipy_openblas_set_num_threads64_``): those spellings are tried too."""
    here = os.path.dirname(np.__file__)
    candidates = (glob.glob(os.path.join(here, '..', 'numpy.libs', '*openblas*'))  # Linux, Windows
                  + glob.glob(os.path.join(here, '.dylibs', '*openblas*')))        # macOS
    for path in candidates:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in (name, f'scipy_{name}64_', f'scipy_{name}_64_', f'scipy_{name}'):
            function = getattr(library, symbol, None)
            if function is not None:
                return function
    return None


_blas_set = _openblas('openblas_set_num_threads')
_blas_get = _openblas('openblas_get_num_threads')
_blas_saved = None    # BLAS's thread count before the pool set it to 1


def set_blas_threads(n):
    """Let OpenBLAS use ``n`` threads (``openblas_set_num_threads``); False where NumPy's BLAS
    is another one (then ``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` before starting decide)."""
    if _blas_set is None:
        return False
    _blas_set(int(n))
    return True


def _mark_pool_thread():
    """Pool-thread initialiser: a parallel_for called in here runs its items itself."""
    _local.in_pool = True


def _get_pool():
    """The pool, started on first use; from then on BLAS runs on one thread (module docstring)."""
    global _pool, _blas_saved
    with _lock:
        if _pool is None:
            _blas_saved = _blas_get()
            _blas_set(1)
            _pool = ThreadPoolExecutor(get_num_threads(), thread_name_prefix='minicls',
                                       initializer=_mark_pool_thread)
        return _pool


def _forget_pool_after_fork():
    """A forked child (e.g. a DataLoader worker) has none of the parent's threads: start over."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _no_pool():
    """True when work stays on this thread: one thread wanted, or a BLAS whose thread count
    minicls cannot set (the pool's GEMMs must run on one BLAS thread each; said once in the
    log, as the ops then use one core outside BLAS)."""
    if get_num_threads() < 2:
        return True
    if _blas_set is None or _blas_get is None:
        if not _said_no_openblas:
            _said_no_openblas.append(True)
            logging.getLogger('minicls').warning(
                'NumPy\'s BLAS is not OpenBLAS (or its thread count cannot be set): minicls '
                'runs its ops\' blocks on one thread, and only BLAS uses several cores')
        return True
    return False


_said_no_openblas = []   # not empty once the warning of _no_pool is in the log


def parallel_for(fn, items):
    """``[fn(item) for item in items]``, the items shared among the pool's threads when there
    is more than one of each (results in the order of ``items``, whatever thread ran them).
    Called from inside the pool, it runs the items itself (waiting on the pool could deadlock)."""
    items = list(items)
    if len(items) < 2 or _no_pool() or getattr(_local, 'in_pool', False):
        return [fn(item) for item in items]
    return list(_get_pool().map(fn, items))


def split(length, xp=np):
    """``range(length)`` cut into at most one slice per thread, of (nearly) equal sizes, for
    ``parallel_for``: e.g. the channels of a batch norm, which are independent. One slice on a
    GPU (``xp`` not NumPy), where one kernel already fills the device."""
    parts = max(1, min(length, get_num_threads()) if xp is np else 1)
    step = max(1, -(-length // parts))
    return [slice(start, start + step) for start in range(0, length, step)] or [slice(0, 0)]


def batch_blocks(n, per_image, block_bytes, xp=np):
    """Slices of a batch of ``n`` images for ``parallel_for``: blocks of whole images of about
    ``block_bytes`` of work space each (``per_image`` bytes an image; at least one image), their
    number first rounded up to a multiple of the thread count, so that each thread gets its
    share (at most one block per image; equal-sized blocks may then come out one fewer). One
    block on a GPU (``xp`` not NumPy). E.g. the conv's im2col columns or Winograd's transformed
    tiles, built block by block while they are in the cache.
    """
    if xp is not np or n == 0:
        return [slice(0, n)]
    threads = get_num_threads()
    count = -(-n // max(1, block_bytes // max(1, per_image)))        # ceil division
    count = min(n, -(-count // threads) * threads)
    step = -(-n // count)
    return [slice(start, start + step) for start in range(0, n, step)]


# multiply-adds below which one GEMM on one thread is faster than the pool (measured on 2 cores:
# handing blocks to the pool costs ~70 us; at 2^22 the split took 1.8x as long, at 2^24 0.85x)
MATMUL_MIN_WORK = 2 ** 24


def matmul(a, b):
    """``a @ b``, its GEMMs shared among the pool's threads: the rows of a 2-D ``a``, or the
    leading batch axis of stacked operands, cut into one block per thread, each block a GEMM on
    one BLAS thread (BLAS itself is on one thread while the pool exists: module docstring).
    Small products, non-NumPy arrays (a GPU), 1-D operands, broadcast batches the cut does not
    fit and a single thread take ``a @ b`` itself, the reference. Every output element is
    still one dot product over the whole inner dimension, as in ``a @ b``."""
    if (type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim < 2 or b.ndim < 2
            or _no_pool() or a.size * b.shape[-1] < MATMUL_MIN_WORK):
        return a @ b
    if a.ndim == 2 and b.ndim == 2:
        take_b = lambda rows: b  # noqa: E731
    elif a.ndim >= 3 and (b.ndim == 2 or b.shape[:-2] == a.shape[:-2]):
        take_b = (lambda rows: b) if b.ndim == 2 else (lambda rows: b[rows])  # noqa: E731
    else:
        return a @ b
    out = np.empty(a.shape[:-1] + b.shape[-1:], dtype=np.result_type(a, b))

    def one_block(rows):
        np.matmul(a[rows], take_b(rows), out=out[rows])
    parallel_for(one_block, split(a.shape[0]))
    return out
