"""Damaged and foreign checkpoint files (issue 14, item 6): one clear CheckpointError for
each, and a resume from one stops before anything is written.
"""
import io
import os
import re
import zipfile

import numpy as np
import pytest
from checkpoint_runs import reference_run, refused, snapshot

from minicls.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

_reference = pytest.fixture(scope='module', name='reference')(reference_run)


def rewrite(src, dst, drop=(), replace=None):
    """Copy the zip ``src`` to ``dst`` without the members ``drop``, with ``replace``
    (member name -> bytes) swapped in."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            if item.filename not in drop:
                zout.writestr(item, (replace or {}).get(item.filename, zin.read(item)))


def npy_bytes(text):
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(text, dtype=np.uint8))
    return buf.getvalue()


def test_damaged_checkpoints_give_one_clear_error(reference, tmp_path):
    good = reference / 'epoch_2.npz'
    with zipfile.ZipFile(tmp_path / 'torch.npz', 'w') as z:   # torch.save's zip layout
        z.writestr('archive/data.pkl', b'\x80\x02}q\x00.')
    rewrite(good, tmp_path / 'no_arr.npz', drop=['arr_0.npy'])
    rewrite(good, tmp_path / 'bad_json.npz',
            replace={'__header__.npy': npy_bytes(b'{"format": "minicls-checkp')})
    rewrite(good, tmp_path / 'no_header.npz', drop=['__header__.npy'])
    cases = {'no_arr.npz': "refers to the array 'arr_0'", 'bad_json.npz': 'is not valid JSON',
             'no_header.npz': 'not a minicls checkpoint', 'torch.npz': 'PyTorch file.*load_from='}
    for name, words in cases.items():
        with pytest.raises(CheckpointError, match=words) as err:
            load_checkpoint(str(tmp_path / name))
        assert str(tmp_path / name) in str(err.value)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        (tmp_path / 'cut.npz').write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match='truncated or corrupt'):
            load_checkpoint(str(tmp_path / 'cut.npz'))
    rng = np.random.default_rng(0)   # flipped bits anywhere: CheckpointError or the same data
    for _ in range(40):
        bad = bytearray(data)
        for offset in rng.integers(0, len(data), 2):
            bad[offset] ^= 1 << int(rng.integers(8))
        (tmp_path / 'flip.npz').write_bytes(bytes(bad))
        try:
            ckpt = load_checkpoint(str(tmp_path / 'flip.npz'))
        except CheckpointError:
            continue
        assert ckpt['meta'] == load_checkpoint(str(good))['meta']


def test_resume_from_damaged_or_foreign_files_says_what_to_do(reference, tmp_path, capsys):
    work = tmp_path / 'work'
    weights_only = tmp_path / 'weights.npz'
    save_checkpoint({'state_dict': load_checkpoint(str(reference / 'epoch_2.npz'))[
        'state_dict']}, str(weights_only))
    assert re.search("has no meta, message_hub.*load_from=",
                     refused(capsys, work, resume=weights_only))
    pth = tmp_path / 'resnet.pth'
    pth.write_bytes(b'PK\x03\x04 not really')
    message = refused(capsys, work, resume=pth)
    assert str(pth) in message and 'PyTorch' in message and 'load_from=' in message
    assert "init_cfg=dict(type='Pretrained'" in message
    assert 'no_such.npz does not exist' in refused(capsys, work, resume=tmp_path / 'no_such.npz')
    half = tmp_path / 'half.npz'
    half.write_bytes((reference / 'epoch_2.npz').read_bytes()[:5000])
    assert f'{half}: the file is truncated' in refused(capsys, work, resume=half)


@pytest.mark.parametrize('damage', ['truncated', 'weights only'])
def test_a_damaged_resume_path_stops_before_anything_is_written(reference, tmp_path, capsys,
                                                                damage):
    """--resume epoch_2.npz, damaged: the CheckpointError comes before the log folder
    (work_dir/<time>/) or any other file is made; a work dir that does not exist stays so."""
    work = tmp_path / 'work'
    work.mkdir()
    good = (reference / 'epoch_2.npz').read_bytes()
    (work / 'epoch_3.npz').write_bytes((reference / 'epoch_3.npz').read_bytes())
    (work / 'last_checkpoint').write_text(str(work / 'epoch_3.npz'))
    if damage == 'truncated':
        (work / 'epoch_2.npz').write_bytes(good[:len(good) // 2])
    else:
        save_checkpoint({'state_dict': load_checkpoint(str(reference / 'epoch_2.npz'))[
            'state_dict']}, str(work / 'epoch_2.npz'))
    before = snapshot(work)
    message = refused(capsys, work, resume=work / 'epoch_2.npz')
    assert str(work / 'epoch_2.npz') in message and 'epoch_3.npz' in message
    assert snapshot(work) == before and sorted(os.listdir(work)) == sorted(map(str, before))
    elsewhere = tmp_path / 'not_yet'
    refused(capsys, elsewhere, resume=work / 'epoch_2.npz')
    assert not elsewhere.exists()
