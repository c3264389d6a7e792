"""Checkpoints without pickle: a ``.npz`` zip of ``.npy`` arrays plus one JSON header.

``save_checkpoint(obj, path)`` takes a nested structure of dicts, lists, tuples, numbers,
strings, None and arrays (NumPy or CuPy) -- e.g. ``dict(state_dict=..., optimizer=...,
meta=...)`` -- and stores every array as its own ``.npy`` entry (``arr_0``, ``arr_1``...) and
everything else as JSON text (the ``__header__`` entry, a uint8 array of UTF-8 bytes). In the
JSON an array is written ``{"__array__": "arr_3"}``.

Loading uses ``numpy.load(..., allow_pickle=False)``: opening a checkpoint can never run code,
unlike ``torch.load`` on an untrusted ``.pth`` file. Writing goes to a temporary file in the
same folder that is then renamed over the target (``os.replace`` is atomic), so a crash or a
Ctrl-C while saving never leaves a half-written checkpoint behind (:func:`atomic_write`; a
crash can leave its ``.tmp_*`` file, which :func:`remove_stale_temp_files` deletes later).

Explained in tutorials/09_reading_a_training_run.md.
"""
import json
import logging
import os
import re
import uuid

import numpy as np

from minicls.backend import to_numpy

__all__ = ['save_checkpoint', 'load_checkpoint', 'CheckpointError', 'load_state_dict',
           'atomic_write', 'remove_stale_temp_files']

HEADER = '__header__'
FORMAT = 'minicls-checkpoint-v1'
# the temp files of atomic_write, and those of older minicls versions (tempfile.mkstemp)
TEMP_FILE = re.compile(r'\.tmp_([0-9a-f]{12}_.+|[a-z0-9_]{8}\.npz)')


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read (missing, truncated, not a minicls checkpoint),
    or that does not fit the run resuming from it (another model, optimizer, schedulers)."""


def _encode(obj, arrays):
    """JSON-able copy of ``obj`` with arrays moved into ``arrays``."""
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            if '__array__' in obj or '__tuple__' in obj or '__items__' in obj:
                raise ValueError(f'reserved key in a checkpoint dict: {sorted(obj)}')
            return {k: _encode(v, arrays) for k, v in obj.items()}
        # keys that JSON cannot hold (ints: optimizer state is keyed by parameter index)
        return {'__items__': [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {'__tuple__': [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if hasattr(obj, 'grad_fn'):  # a Tensor
        obj = obj.data
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, 'shape') and hasattr(obj, 'dtype'):
        name = f'arr_{len(arrays)}'
        array = to_numpy(obj)
        if array.dtype == object:
            raise TypeError('object arrays cannot be saved without pickle')
        arrays[name] = array
        return {'__array__': name}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f'cannot save a {type(obj).__name__} in a checkpoint: use dicts, lists, '
                    'numbers, strings and arrays')


def _decode(obj, arrays):
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if '__array__' in obj:
            return arrays[obj['__array__']]
        if '__tuple__' in obj:
            return tuple(_decode(v, arrays) for v in obj['__tuple__'])
        if '__items__' in obj:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in obj['__items__']}
        return {k: _decode(v, arrays) for k, v in obj.items()}
    return obj


def atomic_write(path, write):
    """Create or replace the file ``path`` with what ``write(f)`` writes to the binary file
    ``f``, so that ``path`` is always the old file or the whole new one, never a part.

    It writes a temporary file ``.tmp_<random>_<name>`` in the same folder, flushes it to
    disk and renames it over ``path`` (``os.replace`` is atomic). On an error the temporary
    file is removed; only a hard kill (``kill -9``, power loss) can leave it behind.
    The file gets the usual permissions (0o666 minus the umask), like ``open(path, 'w')``.
    """
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f'.tmp_{uuid.uuid4().hex[:12]}_{name}')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0), 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def remove_stale_temp_files(folder, logger=None):
    """Delete the ``.tmp_*`` files that :func:`atomic_write` leaves when a run is killed while
    writing; returns their names. Only names of that exact form are touched."""
    if not os.path.isdir(folder):
        return []
    removed = sorted(name for name in os.listdir(folder) if TEMP_FILE.fullmatch(name)
                     and os.path.isfile(os.path.join(folder, name)))
    for name in removed:
        os.remove(os.path.join(folder, name))
    if removed and logger is not None:
        logger.info(f'Removed {len(removed)} temporary file(s) left in {folder} by an '
                    f'interrupted save: {", ".join(removed)}')
    return removed


def save_checkpoint(checkpoint, path):
    """Write ``checkpoint`` (nested dicts/lists/arrays/numbers) to ``path`` atomically."""
    arrays = {}
    header = {'format': FORMAT, 'content': _encode(checkpoint, arrays)}
    arrays[HEADER] = np.frombuffer(json.dumps(header).encode('utf-8'), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path, map_location=None):
    """Read a checkpoint written by :func:`save_checkpoint` (arrays come back as NumPy).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is truncated, corrupt, a PyTorch file, or not a minicls
            checkpoint; the message names the file and what is wrong with it.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if str(path).endswith(('.pth', '.pt')):
        raise CheckpointError(_pytorch_file(path))
    with open(path, 'rb') as f:
        magic = f.read(4)
    if magic != b'PK\x03\x04':  # every .npz is a zip file; a config, an image... is not
        raise CheckpointError(f'{path} is not a minicls checkpoint: a checkpoint is a .npz (zip) '
                              f'file, this one starts with {magic!r}. Give the checkpoint '
                              '(epoch_N.npz), not the config or another file.')
    try:
        with open(path, 'rb') as f, np.load(f, allow_pickle=False) as data:
            if HEADER not in data.files:
                if any(name.endswith('data.pkl') for name in data.files):
                    raise CheckpointError(_pytorch_file(path))
                raise CheckpointError(
                    f'{path} is a .npz file but not a minicls checkpoint (no {HEADER} entry)')
            text = bytes(data[HEADER])
            arrays = {name: data[name] for name in data.files if name != HEADER}
    except CheckpointError:
        raise
    except Exception as err:  # BadZipFile, a bad CRC, odd header fields...: a damaged file
        raise CheckpointError(
            f'cannot read checkpoint {path}: the file is truncated or corrupt '
            f'({type(err).__name__}: {err}). Was it copied completely? Copy it again, or use '
            'an earlier checkpoint.') from err
    try:
        header = json.loads(text.decode('utf-8'))
    except ValueError as err:  # UnicodeDecodeError, json.JSONDecodeError
        raise CheckpointError(f'checkpoint {path} is corrupt: its {HEADER} entry is not valid '
                              f'JSON ({err}). Use an earlier checkpoint.') from err
    if not isinstance(header, dict) or header.get('format') != FORMAT:
        found = header.get('format') if isinstance(header, dict) else type(header).__name__
        raise CheckpointError(f'{path}: unknown checkpoint format {found!r} '
                              f'(expected {FORMAT!r})')
    if 'content' not in header:
        raise CheckpointError(f'checkpoint {path} is corrupt: its {HEADER} has no "content"')
    try:
        return _decode(header['content'], arrays)
    except KeyError as err:
        raise CheckpointError(
            f'checkpoint {path} is corrupt: its {HEADER} refers to the array {err}, which the '
            f'file does not hold (it holds {len(arrays)} arrays). Use an earlier '
            'checkpoint.') from err
    except (TypeError, ValueError) as err:
        raise CheckpointError(f'checkpoint {path} is corrupt: its {HEADER} is malformed '
                              f'({type(err).__name__}: {err})') from err


def _pytorch_file(path):
    return (f'{path} is a PyTorch file, not a minicls checkpoint, so training cannot resume '
            'from it (resuming needs the optimizer and schedule state that minicls saves). '
            f"To start from its weights use load_from='{path}' (on the command line: "
            f'--cfg-options load_from={path}), or to load the backbone only: '
            f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{path}', "
            "prefix='backbone').")


def load_state_dict(module, state_dict, strict=False, logger=None, source='the checkpoint'):
    """Copy the weights of ``state_dict`` into ``module`` and say what did not fit
    (mmengine's ``load_state_dict``).

    Every entry whose name and shape fit is copied (``Module.load_state_dict`` finds the
    missing, unexpected and other-shape entries). Then:

    - nothing fitted: ``CheckpointError`` (the wrong file, or names under another prefix);
    - ``strict=True`` (``test``, ``predict``) and something did not fit: ``CheckpointError``;
    - else (``load_from``, fine-tuning) a warning with the counts and the first names: what
      did not fit keeps its initial value (a head for another ``num_classes`` starts fresh).

    ``source`` names the file in the messages.
    """
    missing, unexpected, mismatched = module._load_matching(state_dict)
    unused = set(unexpected)
    loaded = sum(k not in unused for k in state_dict) - len(mismatched)
    name = type(module).__name__
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing in the file ({_first(missing)})')
    if unexpected:
        problems.append(f'{len(unexpected)} not in the model ({_first(unexpected)})')
    if mismatched:
        problems.append(f'{len(mismatched)} of another shape, skipped:\n  ' +
                        '\n  '.join(mismatched[:5]) + ('\n  ...' if len(mismatched) > 5 else ''))
    if loaded == 0 and state_dict:
        raise CheckpointError(f'none of the {len(state_dict)} weights in {source} fit {name}: '
                              + '; '.join(problems) + _prefix_hint(missing, unexpected))
    if not problems:
        return
    text = f'{source} does not fit {name} exactly: ' + '; '.join(problems)
    if strict:
        raise CheckpointError(text + '\nWas it saved from a model of this config?'
                              + _prefix_hint(missing, unexpected))
    advice = (' Another shape is expected when fine-tuning to another num_classes; to load a '
              "backbone only, use model.backbone.init_cfg=dict(type='Pretrained', "
              "checkpoint=..., prefix='backbone').") if mismatched else ''
    (logger or logging.getLogger('minicls')).warning(
        f'{text}\nLoaded {loaded} of its {len(state_dict)} weights; the rest of {name} keeps '
        f'its initial values.{advice}')


def _first(keys, n=5):
    """The first ``n`` names, quoted, then '...' when there are more."""
    return ', '.join(repr(k) for k in keys[:n]) + (', ...' if len(keys) > n else '')


def _prefix_hint(missing, unexpected):
    """Say so when the file's names are the model's with a prefix added or removed."""
    wanted, extra = set(missing), set(unexpected)
    added = {k.split('.', 1)[0] for k in unexpected if k.split('.', 1)[-1] in wanted}
    removed = {k.split('.', 1)[0] for k in missing if k.split('.', 1)[-1] in extra}
    if len(added) == 1:
        prefix = added.pop()
        return (f" The file's names carry an extra '{prefix}.' prefix: load it with "
                f"model.init_cfg=dict(type='Pretrained', checkpoint=..., prefix='{prefix}'), "
                'which strips it.')
    if len(removed) == 1:
        prefix = removed.pop()
        return (f" The file holds the weights of the model's '{prefix}' part only: load it "
                f"with model.{prefix}.init_cfg=dict(type='Pretrained', checkpoint=...).")
    return ''
