"""Downloads from a local HTTP server on 127.0.0.1, MD5 checks, and safe extraction."""
import gzip
import hashlib
import io
import logging
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

import numpy as np
import pytest

from minicls.datasets import CIFAR10
from minicls.datasets.utils import (calculate_md5, download_and_extract_archive, download_url,
                                    extract_archive)


def make_tar(path, files, extra=()):
    """A .tar.gz with ``files`` ({name: bytes}) plus raw TarInfo members in ``extra``."""
    with tarfile.open(path, 'w:gz') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_good_archive_and_extract(server, tmp_path):
    www, url = server
    md5 = make_tar(www / 'data.tar.gz', {'data/a.txt': b'hello', 'data/sub/b.bin': b'\x00\x01'})
    out = tmp_path / 'out'
    download_and_extract_archive(f'{url}/data.tar.gz', str(out), md5=md5, progress=False)
    assert (out / 'data' / 'a.txt').read_bytes() == b'hello'
    assert (out / 'data' / 'sub' / 'b.bin').read_bytes() == b'\x00\x01'
    assert calculate_md5(str(out / 'data.tar.gz')) == md5
    assert not list(out.glob('*.part'))


def test_bad_md5_raises_and_leaves_nothing(server, tmp_path):
    www, url = server
    make_tar(www / 'data.tar.gz', {'a.txt': b'hello'})
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='MD5 mismatch'):
        download_url(f'{url}/data.tar.gz', str(out), md5='0' * 32, progress=False)
    assert list(out.iterdir()) == []


def test_unreachable_url_is_a_clear_error(server, tmp_path):
    _, url = server
    with pytest.raises(RuntimeError, match='Failed to download .*missing.tar.gz'):
        download_url(f'{url}/missing.tar.gz', str(tmp_path / 'out'), progress=False)
    assert list((tmp_path / 'out').iterdir()) == []


def test_archive_escaping_the_target_is_refused(server, tmp_path):
    www, url = server
    md5 = make_tar(www / 'evil.tar.gz', {'ok.txt': b'fine', '../escaped.txt': b'gotcha'})
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=r'\.\./escaped\.txt'):
        download_and_extract_archive(f'{url}/evil.tar.gz', str(out), md5=md5, progress=False)
    assert not (tmp_path / 'escaped.txt').exists()
    assert not (out / 'ok.txt').exists()  # nothing extracted at all


@pytest.mark.parametrize('kind', ['abs', 'symlink', 'hardlink', 'fifo'])
def test_tar_links_absolute_paths_and_special_files_are_refused(tmp_path, kind):
    info = tarfile.TarInfo({'abs': '/tmp/abs.txt'}.get(kind, 'member'))
    if kind == 'symlink':
        info.type, info.linkname = tarfile.SYMTYPE, '/etc/passwd'
    elif kind == 'hardlink':
        info.type, info.linkname = tarfile.LNKTYPE, '../../outside'
    elif kind == 'fifo':
        info.type = tarfile.FIFOTYPE
    make_tar(tmp_path / 'x.tar.gz', {'good.txt': b'1'}, extra=[info])
    with pytest.raises(ValueError, match='Refusing'):
        extract_archive(str(tmp_path / 'x.tar.gz'), str(tmp_path / 'out'))
    assert not (tmp_path / 'out' / 'good.txt').exists()


def test_zip_extract_and_refuse(tmp_path):
    with zipfile.ZipFile(tmp_path / 'ok.zip', 'w') as z:
        z.writestr('d/x.txt', 'zipped')
    extract_archive(str(tmp_path / 'ok.zip'), str(tmp_path / 'out'))
    assert (tmp_path / 'out' / 'd' / 'x.txt').read_text() == 'zipped'
    with zipfile.ZipFile(tmp_path / 'bad.zip', 'w') as z:
        z.writestr('../../x.txt', 'zipped')
    with pytest.raises(ValueError, match='outside'):
        extract_archive(str(tmp_path / 'bad.zip'), str(tmp_path / 'out2'))


def test_cifar10_download_true_fetches_checks_and_reads(server, tmp_path, monkeypatch):
    www, url = server
    data = np.arange(3 * 3072, dtype=np.uint8).reshape(3, 3072) % 251
    batch = pickle.dumps({b'data': data, b'labels': [2, 0, 9]})
    md5 = make_tar(www / 'cifar-10-python.tar.gz', {'cifar-10-batches-py/test_batch': batch})
    monkeypatch.setattr(CIFAR10, 'url', f'{url}/cifar-10-python.tar.gz')
    monkeypatch.setattr(CIFAR10, 'tgz_md5', md5)
    ds = CIFAR10(data_root=str(tmp_path / 'c10'), split='test', download=True)
    assert len(ds) == 3 and ds.get_gt_labels().tolist() == [2, 0, 9]
    np.testing.assert_array_equal(ds[2]['img'].transpose(2, 0, 1).reshape(-1), data[2])
    monkeypatch.setattr(CIFAR10, 'tgz_md5', '1' * 32)  # already there: no new download
    assert len(CIFAR10(data_root=str(tmp_path / 'c10'), split='test')) == 3


class _FaultyServer:
    """A server on 127.0.0.1 that misbehaves: 'short' announces 1000 bytes and sends 500,
    'trickle' sends one byte every 20 ms (never silent long enough for a read timeout)."""

    def __init__(self, mode):
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Length', '1000')
                self.end_headers()
                if mode == 'short':
                    self.wfile.write(b'x' * 500)
                    return
                for _ in range(500):  # 10 s at most; stops when the client hangs up
                    self.wfile.write(b'x')
                    self.wfile.flush()
                    time.sleep(0.02)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/file.bin'
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize('mode', ['short', 'trickle'])
def test_a_cut_or_stalled_download_is_refused_and_leaves_nothing(tmp_path, mode):
    faulty = _FaultyServer(mode)
    start = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match={'short': 'after 500 of the 1000 bytes',
                                                'trickle': 'stalled'}[mode]):
            download_url(faulty.url, str(tmp_path / 'out'), timeout=0.5, progress=False)
    finally:
        faulty.close()
    assert time.monotonic() - start < 3
    assert list((tmp_path / 'out').iterdir()) == []


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


DOWNLOAD = ('import sys; from minicls.io.download import download_url; '
            "download_url(sys.argv[1], sys.argv[2], filename='file.bin', timeout=30, "
            'progress=False)')


@pytest.mark.skipif(sys.platform == 'win32', reason='POSIX signals')
def test_a_part_file_left_by_a_killed_download_is_removed_by_the_next(server, tmp_path):
    """kill -9 during a download leaves out/file.bin.<pid>.part; the next download to
    out/file.bin removes it (logged) and succeeds. The .part of a process that still runs
    (another download in progress) and of another destination stay."""
    out, faulty = tmp_path / 'out', _FaultyServer('trickle')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, '-c', DOWNLOAD, faulty.url, str(out)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob('file.bin.*.part')) and child.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
        faulty.close()
    assert child.returncode == -signal.SIGKILL
    assert [p.name for p in out.iterdir()] == [f'file.bin.{child.pid}.part']
    alive = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (out / f'file.bin.{alive.pid}.part').write_bytes(b'in progress')
        (out / f'other.bin.{child.pid}.part').write_bytes(b'another file')
        www, url = server
        (www / 'file.bin').write_bytes(b'the whole file')
        logger, records = logging.getLogger('minicls'), _Records()
        logger.addHandler(records)
        try:
            path = download_url(f'{url}/file.bin', str(out), progress=False)
        finally:
            logger.removeHandler(records)
        assert sorted(p.name for p in out.iterdir()) == sorted([
            'file.bin', f'file.bin.{alive.pid}.part', f'other.bin.{child.pid}.part'])
    finally:
        alive.kill()
        alive.wait()
    assert open(path, 'rb').read() == b'the whole file'
    assert any(f'file.bin.{child.pid}.part' in line and 'partial download' in line
               for line in records.lines), records.lines


def _bomb(path, size=11 << 20):
    """An archive of ``size`` zero bytes: a few KiB on disk, far over 100x."""
    if path.name.endswith('.zip'):
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('zeros.bin', bytes(size))
    elif path.name.endswith('.tar.gz'):
        make_tar(path, {'zeros.bin': bytes(size)})
    else:
        path.write_bytes(gzip.compress(bytes(size), compresslevel=1))


@pytest.mark.parametrize('name', ['bomb.zip', 'bomb.tar.gz', 'zeros.bin.gz'])
def test_an_archive_that_expands_too_much_is_refused(tmp_path, name):
    _bomb(tmp_path / name)
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=r'expands to at least .*max_size'):
        extract_archive(str(tmp_path / name), str(out))
    assert list(out.iterdir()) == []  # nothing written, or the partial file removed
    extract_archive(str(tmp_path / name), str(out), max_size=12 << 20)  # the override
    assert (out / 'zeros.bin').stat().st_size == 11 << 20
    with pytest.raises(ValueError, match='limit of 0.0 MiB'):  # a limit below a small archive
        extract_archive(str(tmp_path / name), str(tmp_path / 'out2'), max_size=1000)
