"""Getting data sets onto disk safely: download, MD5 check, archive extraction, pickle loading.

Three things can go wrong when a program fetches a data set from the internet, and this module
guards against each of them:

* the download is cut short or corrupted -> every download is checked against a known MD5 and a
  file that fails is deleted, so a broken file is never mistaken for a good one later;
* an archive holds a member such as ``../../home/me/.bashrc`` or a link to ``/etc`` ->
  :func:`extract_archive` checks *every* member before writing anything, and refuses the archive;
* a pickle file names a function such as ``os.system`` -> :func:`safe_pickle_load` uses an
  unpickler that only knows plain data types (dict, list, str, numbers, NumPy arrays), so the
  file is refused instead of running code. (The official CIFAR batches are pickles.)
"""
import gzip
import hashlib
import io
import os
import os.path as osp
import pickle
import shutil
import tarfile
import urllib.request
import zipfile

from tqdm import tqdm

__all__ = ['calculate_md5', 'check_md5', 'download_url', 'extract_archive',
           'download_and_extract_archive', 'safe_pickle_load', 'RestrictedUnpickler']

_CHUNK = 1 << 20


# -- MD5 -------------------------------------------------------------------------------------
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


# -- download --------------------------------------------------------------------------------
def download_url(url, root, filename=None, md5=None, timeout=60, progress=True):
    """Download ``url`` to ``root/filename`` with a progress bar and check its MD5.

    The bytes go to ``filename.part`` first and are renamed only once the MD5 matches, so an
    interrupted or corrupted download never leaves a file that looks complete.
    A file already there with the right MD5 is not downloaded again.

    Returns:
        str: the path of the downloaded file.

    Raises:
        RuntimeError: the server could not be reached, or the MD5 does not match.
    """
    root = osp.expanduser(root)
    filename = filename or osp.basename(url.split('?')[0]) or 'download'
    path = osp.join(root, filename)
    if check_md5(path, md5):
        return path
    os.makedirs(root, exist_ok=True)
    part = path + '.part'
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, 'wb') as f:
            total = int(response.headers.get('Content-Length') or 0) or None
            with tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024,
                      desc=f'Downloading {filename}', disable=not progress) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b''):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except Exception as err:
        _remove(part)
        raise RuntimeError(f'Failed to download {url}: {err}') from err
    if md5 is not None and digest.hexdigest() != md5:
        _remove(part)
        raise RuntimeError(f'MD5 mismatch for {url}: expected {md5}, got {digest.hexdigest()}. '
                           'The file was deleted; try again, or download it by hand and check '
                           'that it is the right file.')
    os.replace(part, path)
    return path


def _remove(path):
    if osp.exists(path):
        os.remove(path)


# -- safe extraction -------------------------------------------------------------------------
def _check_member_name(name, archive):
    """Refuse a member path that is absolute or climbs out of the target folder."""
    norm = name.replace('\\', '/')
    parts = norm.split('/')
    if norm.startswith('/') or (len(norm) > 1 and norm[1] == ':') or '..' in parts:
        raise ValueError(f'Refusing to extract {archive}: member {name!r} would be written '
                         'outside the target folder (absolute path or "..").')


def _extract_tar(from_path, to_path):
    with tarfile.open(from_path, 'r:*') as tar:
        members = tar.getmembers()
        # Check everything first: a refused archive writes nothing at all.
        for m in members:
            _check_member_name(m.name, from_path)
            if m.issym() or m.islnk():
                raise ValueError(f'Refusing to extract {from_path}: member {m.name!r} is a link '
                                 f'(to {m.linkname!r}). Data archives hold plain files only, and '
                                 'a link could point outside the target folder.')
            if not (m.isfile() or m.isdir()):
                raise ValueError(f'Refusing to extract {from_path}: member {m.name!r} is not a '
                                 'regular file or folder (device, fifo, ...).')
        kwargs = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        tar.extractall(to_path, members=members, **kwargs)


def _extract_zip(from_path, to_path):
    with zipfile.ZipFile(from_path) as z:
        infos = z.infolist()
        for info in infos:
            _check_member_name(info.filename, from_path)
            mode = info.external_attr >> 16
            if (mode & 0o170000) == 0o120000:  # S_IFLNK: a symlink stored by Unix zip
                raise ValueError(f'Refusing to extract {from_path}: member {info.filename!r} '
                                 'is a symbolic link.')
        z.extractall(to_path, members=infos)


def _extract_gz(from_path, to_path):
    out = osp.join(to_path, osp.basename(from_path)[:-3])
    with gzip.open(from_path, 'rb') as src, open(out, 'wb') as dst:
        shutil.copyfileobj(src, dst)


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Extract a ``.tar(.gz|.bz2|.xz)``, ``.tgz``, ``.zip`` or single-file ``.gz`` archive.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    links and special files are refused with a ``ValueError``.

    Returns:
        str: the folder the archive was extracted to.
    """
    to_path = to_path or osp.dirname(from_path)
    os.makedirs(to_path, exist_ok=True)
    name = from_path.lower()
    if name.endswith(('.tar', '.tar.gz', '.tgz', '.tar.bz2', '.tbz', '.tar.xz', '.txz')):
        _extract_tar(from_path, to_path)
    elif name.endswith('.zip'):
        _extract_zip(from_path, to_path)
    elif name.endswith('.gz'):
        _extract_gz(from_path, to_path)
    else:
        raise ValueError(f'Unknown archive type: {from_path} (expected .tar[.gz|.bz2|.xz], '
                         '.tgz, .zip or .gz)')
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, remove_finished=False, progress=True):
    """Download an archive (MD5-checked, see :func:`download_url`) and extract it safely."""
    path = download_url(url, download_root, filename, md5, progress=progress)
    return extract_archive(path, extract_root or download_root, remove_finished)


# -- restricted unpickling -------------------------------------------------------------------
class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only builds plain data.

    A pickle is a small program: besides data it may name any importable function
    (``os.system``, ``subprocess.Popen`` ...) and call it while loading. Containers, strings and
    numbers need no names at all; the only names allowed here are those NumPy uses to rebuild
    arrays, and ``_codecs.encode`` which protocol 2 uses to store ``bytes``.
    """

    SAFE_GLOBALS = {
        ('numpy', 'ndarray'), ('numpy', 'dtype'),
        ('numpy._core.multiarray', '_reconstruct'), ('numpy._core.multiarray', 'scalar'),
        ('numpy._core.numeric', '_frombuffer'),
        ('_codecs', 'encode'),
    }

    def __init__(self, file, source='<pickle>', **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module, name):
        # Pickles written by NumPy 1.x name ``numpy.core``; NumPy 2 calls it ``numpy._core``.
        if module.startswith('numpy.core.'):
            module = 'numpy._core.' + module[len('numpy.core.'):]
        if (module, name) in self.SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{self.source}: refusing to load the global {module}.{name} from a pickle. Only '
            'plain data (dict, list, str, bytes, numbers, NumPy arrays) is allowed here; this '
            'file is not a plain data file and may have been crafted to run code.')


def safe_pickle_load(file, encoding='latin1'):
    """Load a pickle of plain data with :class:`RestrictedUnpickler`.

    Args:
        file (str | bytes | file object): a path, the pickled bytes, or an open binary file.
        encoding (str): how Python 2 strings are decoded; ``'latin1'`` keeps NumPy arrays
            written by Python 2 (as in the official CIFAR batches) byte-exact.
    """
    if isinstance(file, (bytes, bytearray)):
        return RestrictedUnpickler(io.BytesIO(file), encoding=encoding).load()
    if isinstance(file, (str, os.PathLike)):
        with open(file, 'rb') as f:
            return RestrictedUnpickler(f, source=str(file), encoding=encoding).load()
    return RestrictedUnpickler(file, source=getattr(file, 'name', '<pickle>'),
                               encoding=encoding).load()
