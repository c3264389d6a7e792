"""Downloading a file so that a broken download can never pass for a good one.

Three things can go wrong, and each one ends in a ``DownloadError`` with nothing left at the
destination:

* the connection is cut short -> the number of bytes received is compared with the
  ``Content-Length`` the server announced;
* the server stops sending, or trickles a byte now and then (a per-read timeout never fires
  then) -> a download that receives less than ``STALL_BYTES`` in ``timeout`` seconds is
  stopped as stalled;
* the bytes are not the expected ones -> an MD5 digest, or the SHA-256 prefix that torch hub
  puts in file names (``resnet50-0676ba61.pth``), is checked when one is known.

The bytes go to a temporary ``<dst>.<pid>.part`` file beside the destination (one per
process, so two processes can download it at once), renamed over it (``os.replace``, atomic)
only once every check has passed. A ``.part`` of the same destination left by a process
that was killed (``kill -9``: no clean-up ran) is removed, and logged, by the next download.
"""
import hashlib
import logging
import os
import os.path as osp
import re
import sys
import time
import urllib.request

from tqdm import tqdm

__all__ = ['DownloadError', 'calculate_md5', 'check_md5', 'download_url',
           'download_url_to_file']

_CHUNK = 1 << 20
STALL_BYTES = 64 * 1024  # a download that gets less than this in `timeout` seconds is stalled
STALE_PART_SECONDS = 3600  # a .part untouched this long is stale, whatever process named it


class DownloadError(RuntimeError):
    """A download that failed or could not be verified (nothing is left at the destination)."""


def calculate_md5(path, chunk_size=_CHUNK):
    """The hex MD5 digest of a file, read in chunks so large files need little memory."""
    md5 = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(path, md5):
    """True if ``path`` exists and (when ``md5`` is given) has that MD5 digest."""
    if not osp.isfile(path):
        return False
    return md5 is None or calculate_md5(path) == md5


def _running(pid):
    """Whether process ``pid`` runs on this machine (on Windows: assumed, os.kill would end
    it)."""
    if sys.platform == 'win32':
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def remove_stale_parts(dst):
    """Remove the ``<dst>.<pid>.part`` files of processes that no longer run (or untouched
    for ``STALE_PART_SECONDS``); another process's download in progress is left alone."""
    folder, name = osp.split(osp.abspath(dst))
    for entry in os.listdir(folder):
        match = re.fullmatch(re.escape(name) + r'\.(\d+)\.part', entry)
        if not match or int(match.group(1)) == os.getpid():  # ours: overwritten, then removed
            continue
        path, pid = osp.join(folder, entry), int(match.group(1))
        try:
            if _running(pid) and time.time() - osp.getmtime(path) < STALE_PART_SECONDS:
                continue
            os.remove(path)
        except FileNotFoundError:  # its process finished (renamed it) or removed it
            continue
        logging.getLogger('minicls').warning(
            f'Removed {path}: a partial download left by process {pid}, which was stopped '
            'before it could clean up')


def _fetch(url, part, timeout, progress, desc):
    """Write the body of ``url`` to ``part``; returns its (md5, sha256) hex digests."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    received = 0
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, 'wb') as f:
        length = response.headers.get('Content-Length')
        total = int(length) if length and length.isdigit() else None
        read = getattr(response, 'read1', response.read)  # read1: whatever has arrived
        window_start, window_bytes = time.monotonic(), 0
        with tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024, desc=desc,
                  disable=not progress) as bar:
            for chunk in iter(lambda: read(_CHUNK), b''):
                f.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                window_bytes += len(chunk)
                if window_bytes >= STALL_BYTES:
                    window_start, window_bytes = time.monotonic(), 0
                elif time.monotonic() - window_start > timeout:
                    raise DownloadError(f'the download stalled: {window_bytes} bytes in the '
                                        f'last {timeout} s')
    if total is not None and received != total:
        raise DownloadError(f'the connection closed after {received} of the {total} bytes '
                            'the server announced')
    return md5.hexdigest(), sha256.hexdigest()


def download_url_to_file(url, dst, hash_prefix=None, progress=True, md5=None, timeout=60):
    """Download ``url`` to the file ``dst``, checked and atomically (torch.hub's name).

    Args:
        url (str): an ``http(s)://`` URL.
        dst (str): the file to write; its folder must exist.
        hash_prefix (str, optional): the start of the file's SHA-256 hex digest.
        progress (bool): show a progress bar.
        md5 (str, optional): the file's MD5 hex digest.
        timeout (float): seconds to wait for the server, and the window of the stall check.

    Raises:
        DownloadError: the server could not be reached, the download was cut short or
            stalled, or a digest does not match. Nothing is left at ``dst`` then.
    """
    remove_stale_parts(dst)
    part = f'{dst}.{os.getpid()}.part'
    try:
        try:
            md5_got, sha256_got = _fetch(url, part, timeout, progress,
                                         f'Downloading {osp.basename(dst)}')
        except Exception as err:
            raise DownloadError(f'Failed to download {url}: {err}') from err
        if md5 is not None and md5_got != md5:
            raise DownloadError(f'MD5 mismatch for {url}: expected {md5}, got {md5_got}. The '
                                'file was deleted; try again, or download it by hand and check '
                                'that it is the right file.')
        if hash_prefix is not None and not sha256_got.startswith(hash_prefix):
            raise DownloadError(f'SHA-256 mismatch for {url}: its name says the digest starts '
                                f'with {hash_prefix}, but it is {sha256_got}. The file was '
                                'deleted; try again, or check the URL.')
        os.replace(part, dst)
    finally:
        if osp.exists(part):
            os.remove(part)
    return dst


def download_url(url, root, filename=None, md5=None, timeout=60, progress=True):
    """Download ``url`` to ``root/filename`` with a progress bar and check its MD5.

    A file already there with the right MD5 (or any file there, when ``md5`` is None) is not
    downloaded again. See :func:`download_url_to_file` for the checks.

    Returns:
        str: the path of the downloaded file.

    Raises:
        DownloadError (a RuntimeError): the download failed or does not match.
    """
    root = osp.expanduser(root)
    filename = filename or osp.basename(url.split('?')[0]) or 'download'
    path = osp.join(root, filename)
    if check_md5(path, md5):
        return path
    os.makedirs(root, exist_ok=True)
    return download_url_to_file(url, path, progress=progress, md5=md5, timeout=timeout)
