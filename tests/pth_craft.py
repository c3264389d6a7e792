"""Write PyTorch ``.pth`` files without torch, for tests.

``save(path, arrays)`` writes what ``torch.save({name: tensor})`` writes: a zip with
``archive/data.pkl`` and one ``archive/data/<key>`` file of raw bytes per storage. The pickle
is put together from its opcodes, so records that torch would never write (corrupt or
hostile ones) can be crafted with ``tensor_record`` and ``write``.
"""
import struct
import zipfile

import numpy as np

STORAGES = {np.dtype(np.float32): 'FloatStorage', np.dtype(np.float64): 'DoubleStorage',
            np.dtype(np.int64): 'LongStorage', np.dtype(np.uint8): 'ByteStorage'}


def _str(s):
    data = s.encode('utf-8')
    return b'X' + struct.pack('<I', len(data)) + data          # BINUNICODE


def _int(i):
    return b'J' + struct.pack('<i', i)                          # BININT


def _global(module, name):
    return b'c' + f'{module}\n{name}\n'.encode()               # GLOBAL


def _tuple(items):
    return b'(' + b''.join(items) + b't'                        # MARK ... TUPLE


def tensor_record(key, size, stride, offset=0, storage='FloatStorage', numel=1, pid=None):
    """The pickle of ``torch._utils._rebuild_tensor_v2(<storage key>, offset, size, stride,
    False, OrderedDict())``; ``pid`` replaces the storage's persistent id by other pickle
    bytes."""
    if pid is None:
        pid = _tuple([_str('storage'), _global('torch', storage), _str(key), _str('cpu'),
                      _int(numel)]) + b'Q'                     # BINPERSID
    args = [pid, _int(offset), _tuple([_int(n) for n in size]),
            _tuple([_int(s) for s in stride]), b'\x89',        # NEWFALSE
            _global('collections', 'OrderedDict') + b')R']     # EMPTY_TUPLE, REDUCE
    return _global('torch._utils', '_rebuild_tensor_v2') + _tuple(args) + b'R'


def write(path, records, storages, compression=zipfile.ZIP_STORED):
    """A .pth file holding the dict {name: pickled record} and the storages {key: bytes}."""
    pickled = b'\x80\x02}' + b''.join(_str(k) + v + b's' for k, v in records.items()) + b'.'
    with zipfile.ZipFile(path, 'w', compression) as zf:
        zf.writestr('archive/data.pkl', pickled)
        for key, raw in storages.items():
            zf.writestr(f'archive/data/{key}', raw)
        zf.writestr('archive/version', '3\n')
    return path


def save(path, arrays):
    """``torch.save(dict of tensors)`` for NumPy arrays, without torch."""
    records, storages = {}, {}
    for i, (name, array) in enumerate(arrays.items()):
        array = np.asarray(array, order='C')  # (ascontiguousarray makes 0-d arrays 1-d)
        stride = [s // array.itemsize for s in array.strides]
        records[name] = tensor_record(str(i), array.shape, stride,
                                      storage=STORAGES[array.dtype], numel=array.size)
        storages[str(i)] = array.astype(array.dtype.newbyteorder('<')).tobytes()
    return write(path, records, storages)
