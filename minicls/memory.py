"""Host memory: keep the memory a training step frees, for the next step.

A training step allocates and frees the same large arrays again and again: activations,
im2col columns, gradients. glibc's ``malloc`` serves each large request with a fresh ``mmap``
and hands it back to the system on ``free``, so the kernel zero-fills every 4 KB page of it again
at its first touch. On the CPU CIFAR-10 recipe that was about 80,000 page faults and 0.2 s of
system time per step, a fifth of the CPU time. PyTorch's performance guide fixes the same cost by
swapping the allocator (jemalloc, tcmalloc); minicls asks glibc instead, with two ``mallopt``
settings: serve large arrays from the heap, and never give freed heap memory back. The pages
are faulted in once; the price is that the process keeps its peak memory until it exits.

    minicls.keep_freed_memory()   # python -m minicls.train and minicls.test call it themselves

It changes the whole process (including NumPy and PyTorch in it), which is why ``import minicls``
does not do it. Elsewhere than glibc (macOS, Windows, musl) it does nothing and returns False.
"""
import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1   # glibc's malloc.h
M_MMAP_THRESHOLD = -3


def keep_freed_memory():
    """Make glibc keep freed memory for reuse; True if it took effect."""
    if platform.libc_ver()[0] != 'glibc':
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    # Arrays up to 1 GB come from the heap (older glibc refuse more than 32 MB: then use that).
    if not (mallopt(M_MMAP_THRESHOLD, 2 ** 30) or mallopt(M_MMAP_THRESHOLD, 32 * 2 ** 20)):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1))   # never shrink the heap
