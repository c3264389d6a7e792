"""Getting data sets onto disk safely: download, MD5 check, archive extraction, pickle loading.

Three things can go wrong when a program fetches a data set from the internet, and this module
guards against each of them:

* the download is cut short or corrupted -> every download is checked (length, MD5) and a
  file that fails is deleted, so a broken file is never mistaken for a good one later (see
  :mod:`minicls.io.download`);
* an archive holds a member such as ``../../home/me/.bashrc`` or a link to ``/etc``, or
  expands to far more than any data set needs (a "zip bomb") -> :func:`extract_archive`
  checks *every* member before writing anything, and refuses the archive;
* a pickle file names a function such as ``os.system`` -> :func:`safe_pickle_load` uses an
  unpickler that only knows plain data types (dict, list, str, numbers, NumPy arrays), so the
  file is refused instead of running code. (The official CIFAR batches are pickles.)
"""
import gzip
import io
import os
import os.path as osp
import pickle
import tarfile
import zipfile

from minicls.io.download import calculate_md5, check_md5, download_url

__all__ = ['calculate_md5', 'check_md5', 'download_url', 'extract_archive',
           'download_and_extract_archive', 'safe_pickle_load', 'RestrictedUnpickler']

_CHUNK = 1 << 20
# An archive may expand to MAX_RATIO times its own size, and always to MIN_LIMIT bytes.
# Data sets barely compress (CIFAR-10: 1.05x, MNIST: 5x); 1000x is a crafted file.
MAX_RATIO = 100
MIN_LIMIT = 10 << 20


# -- safe extraction -------------------------------------------------------------------------
def _check_member_name(name, archive):
    """Refuse a member path that is absolute or climbs out of the target folder."""
    norm = name.replace('\\', '/')
    parts = norm.split('/')
    if norm.startswith('/') or (len(norm) > 1 and norm[1] == ':') or '..' in parts:
        raise ValueError(f'Refusing to extract {archive}: member {name!r} would be written '
                         'outside the target folder (absolute path or "..").')


def _size_limit(from_path, max_size):
    return max(MAX_RATIO * osp.getsize(from_path), MIN_LIMIT) if max_size is None else max_size


def _check_size(total, limit, from_path):
    if total > limit:
        raise ValueError(
            f'Refusing to extract {from_path}: it expands to at least {total / 2**20:.1f} MiB, '
            f'over the limit of {limit / 2**20:.1f} MiB (by default {MAX_RATIO}x the archive\'s '
            f'size, at least {MIN_LIMIT >> 20} MiB). A crafted archive (a "zip bomb") looks like '
            'this; if you trust the file, pass a larger max_size (bytes) to extract_archive.')


def _extract_tar(from_path, to_path, limit):
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
        _check_size(sum(m.size for m in members), limit, from_path)
        kwargs = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        tar.extractall(to_path, members=members, **kwargs)


def _extract_zip(from_path, to_path, limit):
    with zipfile.ZipFile(from_path) as z:
        infos = z.infolist()
        for info in infos:
            _check_member_name(info.filename, from_path)
            mode = info.external_attr >> 16
            if (mode & 0o170000) == 0o120000:  # S_IFLNK: a symlink stored by Unix zip
                raise ValueError(f'Refusing to extract {from_path}: member {info.filename!r} '
                                 'is a symbolic link.')
        # zipfile never writes more than the size a member declares
        _check_size(sum(info.file_size for info in infos), limit, from_path)
        z.extractall(to_path, members=infos)


def _extract_gz(from_path, to_path, limit):
    # a .gz does not reliably say how big it is: count while writing, delete if too big
    out = osp.join(to_path, osp.basename(from_path)[:-3])
    written = 0
    try:
        with gzip.open(from_path, 'rb') as src, open(out, 'wb') as dst:
            for chunk in iter(lambda: src.read(_CHUNK), b''):
                written += len(chunk)
                _check_size(written, limit, from_path)
                dst.write(chunk)
    except BaseException:
        if osp.exists(out):
            os.remove(out)
        raise


def extract_archive(from_path, to_path=None, remove_finished=False, max_size=None):
    """Extract a ``.tar(.gz|.bz2|.xz)``, ``.tgz``, ``.zip`` or single-file ``.gz`` archive.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    links and special files are refused with a ``ValueError``, and so is an archive that
    expands to more than ``max_size`` bytes (default: 100 times the archive's own size, and
    at least 10 MiB; pass a number to allow more).

    Returns:
        str: the folder the archive was extracted to.
    """
    to_path = to_path or osp.dirname(from_path)
    os.makedirs(to_path, exist_ok=True)
    name = from_path.lower()
    limit = _size_limit(from_path, max_size)
    if name.endswith(('.tar', '.tar.gz', '.tgz', '.tar.bz2', '.tbz', '.tar.xz', '.txz')):
        _extract_tar(from_path, to_path, limit)
    elif name.endswith('.zip'):
        _extract_zip(from_path, to_path, limit)
    elif name.endswith('.gz'):
        _extract_gz(from_path, to_path, limit)
    else:
        raise ValueError(f'Unknown archive type: {from_path} (expected .tar[.gz|.bz2|.xz], '
                         '.tgz, .zip or .gz)')
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, remove_finished=False, progress=True, max_size=None):
    """Download an archive (MD5-checked, see :func:`download_url`) and extract it safely."""
    path = download_url(url, download_root, filename, md5, progress=progress)
    return extract_archive(path, extract_root or download_root, remove_finished, max_size)


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
