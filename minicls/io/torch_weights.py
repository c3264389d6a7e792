"""Read PyTorch ``.pth`` weight files without torch, and without running their pickles.

A file written by ``torch.save`` (PyTorch >= 1.6) is a zip archive::

    resnet18/data.pkl      the object (a dict of tensors), pickled
    resnet18/data/0        the raw little-endian bytes of storage "0"
    resnet18/data/1        ...

Inside ``data.pkl`` each tensor is a call record
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose ``storage`` is
a *persistent id* ``('storage', torch.FloatStorage, '0', 'cpu', numel)`` naming a file of the
archive. ``torch.load`` unpickles with the full power of pickle: a pickle can name *any*
Python function (``os.system``...) and have it called, so loading an untrusted file runs its
code. Here a restricted ``Unpickler`` only lets through the few names a weights file needs
(``collections.OrderedDict``, the two rebuild functions, the storage types), each mapped to a
harmless stand-in written below; any other name raises ``UnpicklingError``. Tensors become
NumPy arrays read straight from the storage bytes (bounds checked).

A checkpoint saved by mmengine during training also carries objects that are not weights (the
message hub's ``HistoryBuffer``s, NumPy scalars in ``meta``...). ``load_pth_state_dict`` reads
such files too: there, every other name becomes an inert ``_StandIn`` that only records what
the pickle asked for, is never the real object and runs nothing, and only the arrays of
``state_dict`` are kept.
"""
import collections
import io
import math
import pickle
import warnings
import zipfile

import numpy as np

__all__ = ['load_pth', 'load_pth_state_dict', 'torchvision_to_mmpretrain']

# storage class name -> NumPy dtype ('bfloat16' is converted by hand: NumPy has no bfloat16)
STORAGE_DTYPES = {
    'DoubleStorage': np.float64, 'FloatStorage': np.float32, 'HalfStorage': np.float16,
    'BFloat16Storage': 'bfloat16', 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_, 'UntypedStorage': np.uint8,
}
# the most bytes a tensor that repeats storage elements (stride 0) may be expanded to
MAX_REPEATED_BYTES = 1 << 28
# torch.save stores storages uncompressed; a storage that inflates more than this is refused
MAX_STORAGE_RATIO = 100


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co: only remembers the dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """The tensor ``storage[offset + sum(i_k * stride_k)]`` of shape ``size``, as a copy."""
    if not isinstance(storage, np.ndarray):
        raise pickle.UnpicklingError(f'a tensor record names a {type(storage).__name__} as its '
                                     'storage, which is not a storage of this file')
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or storage_offset < 0:
        raise pickle.UnpicklingError(f'bad tensor record: size {size}, stride {stride}, '
                                     f'offset {storage_offset}')
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:  # as_strided must never read past the buffer
        raise pickle.UnpicklingError(f'tensor record reaches element {last} of a storage of '
                                     f'{storage.size} elements: the file is corrupt')
    # Without repeats a tensor has at most as many elements as its storage. More means a
    # stride of 0 (an expand()ed tensor) repeats elements; copying a huge one would allocate
    # gigabytes from a few bytes of file, so that is refused.
    numel = math.prod(size)
    if numel > storage.size and numel * storage.itemsize > MAX_REPEATED_BYTES:
        raise pickle.UnpicklingError(
            f'a tensor record of shape {size} (stride {stride}) repeats the {storage.size} '
            f'elements of its storage to {numel * storage.itemsize / 2**20:.0f} MiB (more than '
            f'{MAX_REPEATED_BYTES >> 20} MiB): a weights file never needs this; the file is '
            'corrupt or crafted')
    base = storage[storage_offset:]
    view = np.lib.stride_tricks.as_strided(base, shape=size,
                                           strides=[s * base.itemsize for s in stride])
    return np.array(view)  # an owned, contiguous copy


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _StandIn:
    """Takes the place of any other name a checkpoint's pickle uses: whether pickle calls it,
    builds it with ``__new__`` or gives it a state, it only stores the arguments."""
    qualname = '?'

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f'<{self.qualname}, not loaded>'


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the names a tensor file needs; reads storages from the zip. With
    ``stand_ins``, any other name becomes an inert ``_StandIn`` (listed in ``skipped``)."""

    ALLOWED = {
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
        ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    }

    def __init__(self, file, archive, prefix, stand_ins=False):
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix
        self.storages = {}
        self.stand_ins = stand_ins
        self.skipped = set()

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module in ('torch', 'torch.storage') and name in STORAGE_DTYPES:
            return _StorageType(name)
        if self.stand_ins:
            self.skipped.add(f'{module}.{name}')
            return type(name, (_StandIn,), {'qualname': f'{module}.{name}'})
        raise pickle.UnpicklingError(
            f'refusing to load {module}.{name}: a weights file only needs tensors, dicts and '
            'numbers, and naming other Python objects is how a malicious pickle runs code. If '
            'you trust this file, load it with torch.load and save its state_dict. (To read '
            'only the weights of an mmengine checkpoint, use load_pth_state_dict.)')

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f'unsupported persistent id {pid!r}')
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if key not in self.storages:
            name = f'{self.prefix}data/{key}'
            info = self.archive.getinfo(name)  # KeyError: no such storage
            if info.file_size > MAX_STORAGE_RATIO * max(info.compress_size, 1 << 20):
                raise pickle.UnpicklingError(
                    f'storage {key} inflates from {info.compress_size} to {info.file_size} '
                    'bytes: torch.save never compresses storages; the file is crafted')
            raw = self.archive.read(name)
            dtype = storage_type.dtype
            if dtype == 'bfloat16':  # the upper half of a float32
                bits = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder('<'))
            if array.size < numel:
                raise pickle.UnpicklingError(f'storage {key} holds {array.size} elements, the '
                                             f'record says {numel}: the file is truncated')
            self.storages[key] = array.astype(array.dtype.newbyteorder('='), copy=False)
        return self.storages[key]


def load_pth(path):
    """The object saved in a ``.pth`` zip file, with every tensor as a NumPy array.

    Raises ``pickle.UnpicklingError`` for anything but tensors and plain containers.
    """
    return _load(path, stand_ins=False)[0]


def _load(path, stand_ins):
    """(the object, the set of names replaced by stand-ins)."""
    if not zipfile.is_zipfile(path):
        raise pickle.UnpicklingError(
            f'{path} is not a zip archive: only the zip format of torch.save (PyTorch >= 1.6) '
            'is supported. Re-save it with a recent PyTorch: torch.save(torch.load(f), f).')
    with zipfile.ZipFile(path) as archive:
        pkl = [n for n in archive.namelist() if n.endswith('data.pkl') and n.count('/') == 1]
        if len(pkl) != 1:
            raise pickle.UnpicklingError(f'{path} has no <name>/data.pkl entry: it is a zip '
                                         'file, but not one written by torch.save')
        prefix = pkl[0][:-len('data.pkl')]
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pkl[0])), archive, prefix,
                                         stand_ins)
        try:
            return unpickler.load(), unpickler.skipped
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError,
                AttributeError, IndexError, OverflowError, zipfile.BadZipFile) as err:
            # a damaged or crafted file: say which file, and what was wrong with it
            raise pickle.UnpicklingError(f'cannot read {path}: {err}') from err


def torchvision_to_mmpretrain(state_dict):
    """Rename torchvision ResNet keys to mmpretrain's: ``fc.*`` -> ``head.fc.*``, every other
    key gets ``backbone.`` in front (the rest of the names are already the same)."""
    return collections.OrderedDict(
        ('head.' + k if k.startswith('fc.') else 'backbone.' + k, v)
        for k, v in state_dict.items())


def load_pth_state_dict(path, convert='auto'):
    """name -> NumPy array from a torchvision or mmpretrain ``.pth`` file.

    A checkpoint dict's ``state_dict`` entry is used when present, and a ``module.`` prefix
    (DataParallel) removed. ``convert='auto'`` maps torchvision names to mmpretrain's when no
    key starts with ``backbone.``/``neck.``/``head.``; True/False force it on/off. Objects
    other than weights (an mmengine checkpoint's message hub...) are skipped, with a warning
    naming them; they are never built, so nothing in the file runs.
    """
    obj, skipped = _load(path, stand_ins=True)
    state = obj.get('state_dict', obj) if isinstance(obj, dict) else obj
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds a {type(state).__name__}, not a dict of weights')
    if skipped:
        warnings.warn(f'{path}: skipped objects that are not weights: '
                      f'{", ".join(sorted(skipped))}', stacklevel=2)
    state = collections.OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state.items()
        if isinstance(v, np.ndarray))
    if convert == 'auto':
        convert = not any(k.startswith(('backbone.', 'neck.', 'head.')) for k in state)
    return torchvision_to_mmpretrain(state) if convert else state
