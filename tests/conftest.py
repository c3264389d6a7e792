"""Fixtures shared by the test files, and a one-line summary of the skips."""
import collections

import pytest


@pytest.fixture
def cuda(monkeypatch):
    """'cuda' backed by real CuPy if present, else by the stand-in of tests/fakecupy.py, which
    refuses any stray NumPy call on device arrays (so the GPU path is tested on any machine)."""
    from minicls import backend
    if backend.cupy is None:
        import fakecupy
        monkeypatch.setattr(backend, 'cupy', fakecupy.make_module())
    return 'cuda'


def pytest_terminal_summary(terminalreporter):
    """One line per skip reason, however many files and lines it comes from (``-rs`` lists
    every file and line: about 30 lines without PyTorch)."""
    counts = collections.Counter()
    for report in terminalreporter.stats.get('skipped', []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
            report.longrepr)
        counts[reason.replace('Skipped: ', '', 1)] += 1
    if counts:
        terminalreporter.write_line('skipped: ' + '; '.join(
            f'{n} ({reason})' for reason, n in counts.most_common()))
