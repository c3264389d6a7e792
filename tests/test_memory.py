"""minicls.keep_freed_memory: freed arrays are reused instead of faulted in again."""
import platform
import subprocess
import sys

import pytest

import minicls

CHILD = '''
import resource
import numpy as np
import minicls

def faults():
    """Minor page faults of allocating, filling and freeing a 64 MB array five times."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        a = np.ones(8 * 2 ** 20)
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

plain = faults()
assert minicls.keep_freed_memory()
faults()   # the heap grows once
print(plain, faults())
'''


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='a glibc malloc setting')
def test_freed_memory_is_reused_without_page_faults():
    # In a child process: the setting lasts for the life of the process.
    out = subprocess.run([sys.executable, '-c', CHILD], capture_output=True, text=True,
                         check=True).stdout
    plain, kept = map(int, out.split())
    # 16,384 pages of 4 KB each time (fewer where NumPy gets 2 MB transparent huge pages)
    assert plain >= 5 * 32
    assert kept < plain / 20        # the same pages, reused


def test_it_says_false_where_there_is_no_glibc(monkeypatch):
    monkeypatch.setattr(platform, 'libc_ver', lambda: ('', ''))
    assert minicls.keep_freed_memory() is False
