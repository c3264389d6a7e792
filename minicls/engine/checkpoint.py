"""Checkpoints without pickle: a ``.npz`` zip of ``.npy`` arrays plus one JSON header.

``save_checkpoint(obj, path)`` takes a nested structure of dicts, lists, tuples, numbers,
strings, None and arrays (NumPy or CuPy) -- e.g. ``dict(state_dict=..., optimizer=...,
meta=...)`` -- and stores every array as its own ``.npy`` entry (``arr_0``, ``arr_1``...) and
everything else as JSON text (the ``__header__`` entry, a uint8 array of UTF-8 bytes). In the
JSON an array is written ``{"__array__": "arr_3"}``.

Loading uses ``numpy.load(..., allow_pickle=False)``: opening a checkpoint can never run code,
unlike ``torch.load`` on an untrusted ``.pth`` file. Writing goes to a temporary file in the
same folder that is then renamed over the target (``os.replace`` is atomic), so a crash or a
Ctrl-C while saving never leaves a half-written checkpoint behind.
"""
import json
import logging
import os
import tempfile
import zipfile

import numpy as np

from minicls.backend import to_numpy

__all__ = ['save_checkpoint', 'load_checkpoint', 'CheckpointError', 'load_state_dict']

HEADER = '__header__'
FORMAT = 'minicls-checkpoint-v1'


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read (missing, truncated, not a minicls checkpoint)."""


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


def save_checkpoint(checkpoint, path):
    """Write ``checkpoint`` (nested dicts/lists/arrays/numbers) to ``path`` atomically."""
    arrays = {}
    header = {'format': FORMAT, 'content': _encode(checkpoint, arrays)}
    arrays[HEADER] = np.frombuffer(json.dumps(header).encode('utf-8'), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', suffix='.npz', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path, map_location=None):
    """Read a checkpoint written by :func:`save_checkpoint` (arrays come back as NumPy).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is truncated, corrupt, or not a minicls checkpoint.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        with np.load(path, allow_pickle=False) as data:
            if HEADER not in data.files:
                raise CheckpointError(
                    f'{path} is a .npz file but not a minicls checkpoint (no {HEADER} entry)')
            header = json.loads(bytes(data[HEADER]).decode('utf-8'))
            arrays = {name: data[name] for name in data.files if name != HEADER}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError,
            json.JSONDecodeError) as err:
        hint = (' It looks like a PyTorch file: load weights from it with '
                'minicls.models.utils.torch_weights.load_pth_state_dict.'
                if str(path).endswith(('.pth', '.pt')) else '')
        raise CheckpointError(
            f'cannot read checkpoint {path}: the file is truncated or corrupt '
            f'({type(err).__name__}: {err}). Was it copied completely? Delete it and use an '
            f'earlier checkpoint.{hint}') from err
    if header.get('format') != FORMAT:
        raise CheckpointError(f'{path}: unknown checkpoint format {header.get("format")!r}')
    return _decode(header['content'], arrays)


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
