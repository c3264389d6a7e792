"""Fixtures shared by the test files, and a one-line summary of the skips."""
import collections
import functools
import http.server
import threading

import pytest


@pytest.fixture
def cuda(monkeypatch):
    """'cuda' backed by real CuPy if present, else by the stand-in of tests/fakecupy.py, which
    refuses any stray NumPy call on device arrays (so the GPU path is tested on any machine)."""
    from minicls import backend
    if backend.cupy is None:
        import fakecupy
        monkeypatch.setattr(backend, 'cupy', fakecupy.make_module())
    yield 'cuda'
    del backend._pending[:]   # device-side checks a test left unread must not fail the next one


@pytest.fixture
def log(caplog):
    """What the 'minicls' logger says, from INFO up (caplog; the logger does not propagate to
    the root logger once a Runner has set it up)."""
    import logging
    logger = logging.getLogger('minicls')
    logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)


@pytest.fixture
def threads():
    """Restore minicls's thread count (and with it BLAS's) after a test that changes it."""
    from minicls import parallel
    before = parallel._num_threads
    yield
    parallel.set_num_threads(before or parallel._cores())
    parallel._num_threads = before


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields (folder, base url)."""
    www = tmp_path / 'www'
    www.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield www, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


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
