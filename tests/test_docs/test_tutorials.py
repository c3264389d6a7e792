"""Every tutorial (and the README's tour) is executed: its ```python blocks run in order, in one namespace, in a
temporary directory. A block whose first line is `# no-test` is skipped (e.g. a long run)."""
import os
import re
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
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f'{path.name}[block {i}]', 'exec'), namespace)
        except Exception as err:
            raise AssertionError(f'{path.name} block {i} failed:\n{code}') from err


def test_there_are_tutorials():
    assert TUTORIALS and all(os.path.getsize(p) > 200 for p in TUTORIALS)
