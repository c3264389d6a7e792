"""Every tutorial (and the README's tour) is executed: its ```python blocks run in order, in one namespace, in a
temporary directory. A block whose first line is `# no-test` is skipped (e.g. a long run); one whose
first line is `# needs mpiexec` runs only where mpi4py and mpiexec are installed (otherwise the test
runs the other blocks, then reports a skip)."""
import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
TUTORIALS = sorted((ROOT / 'tutorials').glob('[0-9]*.md')) + [ROOT / 'README.md']
BLOCK = re.compile(r'```python\n(.*?)```', re.S)


@pytest.mark.parametrize('path', TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    blocks = [b for b in BLOCK.findall(path.read_text()) if not b.startswith('# no-test')]
    assert blocks, f'{path.name} has no python block to run'
    monkeypatch.chdir(tmp_path)
    namespace = {'__name__': '__tutorial__'}
    skipped = []
    for i, code in enumerate(blocks):
        if code.startswith('# needs mpiexec') and not _have_mpi():
            skipped.append(i)
            continue
        try:
            exec(compile(code, f'{path.name}[block {i}]', 'exec'), namespace)
        except Exception as err:
            raise AssertionError(f'{path.name} block {i} failed:\n{code}') from err
    if skipped:
        pytest.skip(f'{path.name} blocks {skipped} need mpi4py and mpiexec '
                    '(pip install -e ".[dist]"); the other blocks passed')


def _have_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which('mpiexec') is not None


def test_there_are_tutorials():
    assert TUTORIALS and all(os.path.getsize(p) > 200 for p in TUTORIALS)
