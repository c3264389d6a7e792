"""Checkpoint files: round trip without pickle, atomic writes, clear errors on bad files."""
import os
import zipfile

import numpy as np
import pytest

import minicls
from minicls.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minicls.io import load_weights


def _sample():
    return dict(
        state_dict={'conv.weight': np.arange(6, dtype=np.float32).reshape(2, 3),
                    'bn.num_batches_tracked': np.array(7, dtype=np.int64)},
        optimizer={'state': {0: {'momentum_buffer': np.ones(3, np.float32), 'step': 3}},
                   'param_groups': [{'lr': 0.1, 'betas': (0.9, 0.999), 'params': [0]}]},
        meta=dict(epoch=2, classes=['cat', 'dog'], cfg='model = dict()\n', seed=None,
                  big=2 ** 100),
        rng=minicls.get_rng_state(),
        tensor=minicls.tensor([1.5, 2.5]))


def test_round_trip(tmp_path):
    path = tmp_path / 'epoch_2.npz'
    save_checkpoint(_sample(), str(path))
    ckpt = load_checkpoint(str(path))
    np.testing.assert_array_equal(ckpt['state_dict']['conv.weight'],
                                  np.arange(6, dtype=np.float32).reshape(2, 3))
    assert ckpt['state_dict']['conv.weight'].dtype == np.float32
    assert ckpt['state_dict']['bn.num_batches_tracked'].dtype == np.int64
    assert 0 in ckpt['optimizer']['state']  # int keys come back as ints
    assert ckpt['optimizer']['state'][0]['step'] == 3
    assert ckpt['optimizer']['param_groups'][0]['betas'] == (0.9, 0.999)  # tuples stay tuples
    assert ckpt['meta'] == dict(epoch=2, classes=['cat', 'dog'], cfg='model = dict()\n',
                                seed=None, big=2 ** 100)
    assert ckpt['rng'] == minicls.get_rng_state()
    np.testing.assert_array_equal(ckpt['tensor'], [1.5, 2.5])
    assert load_weights(str(path))['conv.weight'].shape == (2, 3)


def test_loads_without_pickle(tmp_path):
    path = tmp_path / 'c.npz'
    save_checkpoint(_sample(), str(path))
    with np.load(path, allow_pickle=False) as data:  # every entry is a plain array
        for name in data.files:
            assert data[name].dtype != object


def test_atomic_write_leaves_no_temp_and_keeps_old_file_on_error(tmp_path):
    path = tmp_path / 'c.npz'
    save_checkpoint({'a': np.zeros(2)}, str(path))
    with pytest.raises(TypeError, match='cannot save'):
        save_checkpoint({'a': object()}, str(path))
    assert os.listdir(tmp_path) == ['c.npz']  # no temp file left, old file intact
    np.testing.assert_array_equal(load_checkpoint(str(path))['a'], np.zeros(2))


def test_truncated_and_foreign_files(tmp_path):
    path = tmp_path / 'c.npz'
    save_checkpoint(_sample(), str(path))
    data = path.read_bytes()
    bad = tmp_path / 'truncated.npz'
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_checkpoint(str(bad))
    foreign = tmp_path / 'plain.npz'
    np.savez(foreign, x=np.zeros(1))
    with pytest.raises(CheckpointError, match='not a minicls checkpoint'):
        load_checkpoint(str(foreign))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(str(tmp_path / 'missing.npz'))
    pickled = tmp_path / 'pickled.npz'
    np.savez(pickled, __header__=np.array([{'x': 1}], dtype=object))
    with pytest.raises(CheckpointError):
        load_checkpoint(str(pickled))
    assert zipfile.is_zipfile(path)
