"""Reading .pth files without torch: tensors written by torch.save come back exactly
(dtypes, views with offsets/strides, shared storages, Parameters), torchvision keys map to
mmpretrain's and load into a minicls ResNet, a malicious pickle is refused (or, when only the
weights are read, runs nothing), and an mmengine training checkpoint gives its weights."""
import io
import pickle
import time
import zipfile

import numpy as np
import pytest

import pth_craft
from minicls.io import torch_weights
from minicls.models.utils.torch_weights import (load_pth, load_pth_state_dict,
                                                torchvision_to_mmpretrain)


def test_tensors_written_by_torch(tmp_path):
    torch = pytest.importorskip('torch')
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {
        'state_dict': {'a': base, 'view': base[1:, ::2], 'transposed': base.t(),
                       'half': torch.tensor([1.5, -2.25], dtype=torch.float16),
                       'bf16': torch.tensor([1.5, -3.0], dtype=torch.bfloat16),
                       'long': torch.tensor([7, -1]), 'flag': torch.tensor([True, False]),
                       'scalar': torch.tensor(3.5), 'empty': torch.zeros(0, 3),
                       'param': torch.nn.Parameter(torch.ones(2, 2))},
        'meta': {'epoch': 3, 'classes': ('cat', 'dog'), 'note': 'hi', 'lr': [0.1, None]},
    }
    path = tmp_path / 'w.pth'
    torch.save(obj, path)
    out = load_pth(path)
    assert out['meta'] == {'epoch': 3, 'classes': ('cat', 'dog'), 'note': 'hi',
                           'lr': [0.1, None]}
    sd = out['state_dict']
    for key, value in obj['state_dict'].items():
        expected = value.detach().float().numpy() if key == 'bf16' else value.detach().numpy()
        assert sd[key].shape == expected.shape, key
        assert sd[key].dtype == expected.dtype, key
        np.testing.assert_array_equal(sd[key], expected, err_msg=key)
    assert sd['view'].flags['C_CONTIGUOUS'] and sd['view'].base is None  # an owned copy


def test_torchvision_keys_load_into_minicls_resnet(tmp_path):
    torch = pytest.importorskip('torch')
    from minicls.registry import MODELS
    model = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
                              neck=dict(type='GlobalAveragePooling'),
                              head=dict(type='LinearClsHead', num_classes=5, in_channels=512)))
    rng = np.random.default_rng(0)
    # a torchvision-style state_dict: the backbone's keys without prefix, plus fc.*
    tv = {k[len('backbone.'):] if k.startswith('backbone.') else k[len('head.'):]:
          torch.from_numpy(rng.normal(size=v.shape).astype(v.dtype) if v.dtype.kind == 'f'
                           else v.copy())
          for k, v in model.state_dict().items()}
    path = tmp_path / 'resnet18-tv.pth'
    torch.save(tv, path)
    sd = load_pth_state_dict(path)
    assert set(sd) == set(model.state_dict())
    model.load_state_dict(sd)
    np.testing.assert_array_equal(model.backbone.layer3[0].conv2.weight.numpy(),
                                  tv['layer3.0.conv2.weight'].numpy())
    np.testing.assert_array_equal(model.head.fc.bias.numpy(), tv['fc.bias'].numpy())
    # an mmpretrain checkpoint ({'state_dict': ..., 'meta': ...}) keeps its names
    torch.save({'meta': {'epoch': 1}, 'state_dict': {'module.' + k: torch.from_numpy(v)
                                                     for k, v in sd.items()}}, path)
    assert set(load_pth_state_dict(path)) == set(sd)
    # and backbone-only weights through init_cfg Pretrained with prefix
    backbone = MODELS.build(dict(type='ResNet', depth=18, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone')))
    backbone.init_weights()
    np.testing.assert_array_equal(backbone.conv1.weight.numpy(), tv['conv1.weight'].numpy())
    assert list(torchvision_to_mmpretrain({'fc.w': 1, 'conv1.w': 2})) == \
        ['head.fc.w', 'backbone.conv1.w']


class Exploit:
    def __reduce__(self):
        import os
        return (os.system, ('echo pwned > /tmp/minicls_pwned',))


def test_malicious_pickle_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('evil/data.pkl', pickle.dumps({'x': Exploit()}, protocol=2))
        zf.writestr('evil/version', '3\n')
    with pytest.raises(pickle.UnpicklingError, match=r'refusing to load (posix|os|nt)\.system'):
        load_pth(path)
    import os
    assert not os.path.exists('/tmp/minicls_pwned')
    # plain data needs no names and loads; a file that is not a zip is refused clearly
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        zf.writestr('x/data.pkl', pickle.dumps('plain'))
    path.write_bytes(buf.getvalue())
    assert load_pth(path) == 'plain'
    path.write_bytes(b'not a zip')
    with pytest.raises(pickle.UnpicklingError, match='not a zip archive'):
        load_pth(path)


def test_out_of_bounds_tensor_record_is_refused(tmp_path):
    torch = pytest.importorskip('torch')
    path = tmp_path / 't.pth'
    torch.save({'w': torch.ones(4)}, path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        files = {n: zf.read(n) for n in names}
    data_name = [n for n in names if '/data/' in n][0]
    files[data_name] = files[data_name][:8]    # storage now holds 2 floats, record says 4
    with zipfile.ZipFile(path, 'w') as zf:
        for n, b in files.items():
            zf.writestr(n, b)
    with pytest.raises(pickle.UnpicklingError, match='truncated|corrupt'):
        load_pth(path)


BUILT = []


class HistoryBuffer:
    """Stands for mmengine.logging.HistoryBuffer: an object an mmengine checkpoint carries."""

    def __init__(self):
        self._log_history = np.arange(3.0)
        self.max_length = 1000000

    def __setstate__(self, state):   # pickle calls this if it builds the real class
        BUILT.append(state)


def test_an_mmengine_training_checkpoint_gives_its_weights(tmp_path):
    """meta with NumPy scalars, a message hub of custom objects, optimizer state: the weights
    come back, the other objects are skipped (named in a warning) and never built."""
    torch = pytest.importorskip('torch')
    path = tmp_path / 'epoch_3.pth'
    weights = {'backbone.conv1.weight': torch.randn(4, 3, 3, 3), 'head.fc.bias': torch.ones(2)}
    torch.save({'meta': {'epoch': 3, 'seed': np.int64(7), 'dataset_meta': {'classes': ('a', 'b')}},
                'state_dict': weights,
                'message_hub': {'log_scalars': {'train/loss': HistoryBuffer()},
                                'runtime_info': {'iter': np.int64(30)}},
                'optimizer': {'state': {0: {'momentum_buffer': torch.zeros(4)}},
                              'param_groups': [{'lr': 0.1, 'params': [0]}]}}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing to load'):
        load_pth(path)
    with pytest.warns(UserWarning, match='HistoryBuffer') as record:
        state = load_pth_state_dict(path)
    assert 'numpy' in str(record[0].message)
    assert list(state) == list(weights) and not BUILT
    for key, value in weights.items():
        np.testing.assert_array_equal(state[key], value.numpy())


def test_a_malicious_pickle_runs_nothing_when_only_weights_are_read(tmp_path):
    import os
    path = tmp_path / 'evil.pth'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('evil/data.pkl', pickle.dumps(Exploit(), protocol=2))
        zf.writestr('evil/version', '3\n')
    with pytest.raises(ValueError, match='not a dict of weights'):
        load_pth_state_dict(path)
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('evil/data.pkl', pickle.dumps({'state_dict': {'x': Exploit()}}, protocol=2))
    with pytest.warns(UserWarning, match=r'(posix|os|nt)\.system'):
        assert load_pth_state_dict(path) == {}
    assert not os.path.exists('/tmp/minicls_pwned')


def test_a_file_written_without_torch_reads_back(tmp_path):
    """tests/pth_craft.py writes what torch.save writes (the fault tests below rely on it)."""
    arrays = {'w': np.arange(6, dtype=np.float32).reshape(2, 3), 'n': np.array(7),
              'b': np.array([1.5, -2.0])}
    out = load_pth(pth_craft.save(tmp_path / 'w.pth', arrays))
    assert list(out) == list(arrays)
    for key, value in arrays.items():
        assert out[key].dtype == value.dtype
        np.testing.assert_array_equal(out[key], value)


def test_a_tensor_repeating_its_storage_to_gigabytes_is_refused_at_once(tmp_path):
    """388 bytes asking for a (100000, 100000) float tensor with stride (0, 0): 37 GB."""
    path = pth_craft.write(tmp_path / 'huge.pth',
                           {'w': pth_craft.tensor_record('0', (100000, 100000), (0, 0))},
                           {'0': b'\0\0\0\0'})
    assert path.stat().st_size < 1000
    start = time.monotonic()
    with pytest.raises(pickle.UnpicklingError, match=r'huge\.pth.*repeats the 1 elements'):
        load_pth(path)
    assert time.monotonic() - start < 1
    # a small expand()ed tensor (stride 0) is fine
    pth_craft.write(path, {'w': pth_craft.tensor_record('0', (3, 2), (0, 1), numel=2)},
                    {'0': np.array([1, 2], dtype=np.float32).tobytes()})
    np.testing.assert_array_equal(load_pth(path)['w'], [[1, 2]] * 3)


def test_a_storage_that_inflates_is_refused(tmp_path, monkeypatch):
    """torch.save stores storages uncompressed; a deflated one that inflates 100x is crafted
    (the limit is lowered here so the test needs 4 MiB, not 100)."""
    monkeypatch.setattr(torch_weights, 'MAX_STORAGE_RATIO', 2)
    path = pth_craft.write(tmp_path / 'z.pth',
                           {'w': pth_craft.tensor_record('0', (1 << 20,), (1,), numel=1 << 20)},
                           {'0': bytes(4 << 20)}, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(pickle.UnpicklingError, match='inflates'):
        load_pth(path)


@pytest.mark.parametrize('pid', [b'X\x04\x00\x00\x00oops', b'N'])
def test_a_record_whose_storage_is_not_a_storage_is_a_clear_error(tmp_path, pid):
    path = pth_craft.write(tmp_path / 'odd.pth',
                           {'w': pth_craft.tensor_record('0', (2,), (1,), pid=pid)}, {})
    with pytest.raises(pickle.UnpicklingError, match=r'odd\.pth.*not a storage'):
        load_pth(path)
    with pytest.raises(pickle.UnpicklingError, match=r'odd\.pth.*not a storage'):
        load_pth_state_dict(path)
