"""No host sync inside a training step on a GPU, and the device-side checks that make it so
(``minicls.backend.check``).

A host sync is any read of a device value by the host (``float(x)``, ``if x.any():``,
``x.get()``, a boolean mask): the host waits for the GPU to finish all it was given, and stops
queueing the next kernels meanwhile. The stand-in CuPy (tests/fakecupy.py) is given a counter
for each of those reads here, so these tests count them on any machine (on the stand-in even
where CuPy is real: counting needs the instrumented arrays). The checks' own tests use the
``cuda`` fixture and so run on real CuPy where there is one.
"""
import collections
import traceback

import numpy as np
import pytest

import fakecupy
import minicls
import minicls.nn.functional as F
from minicls import backend, nn
from minicls.engine.optim import build_optim_wrapper
from minicls.models.losses.utils import parse_losses
from minicls.registry import MODELS

HOST_READS = ('__bool__', '__float__', '__int__', '__index__', 'item', 'tolist', 'get')


@pytest.fixture
def syncs(monkeypatch):
    """The stand-in CuPy, counting the host reads of device values: {(kind, where): count}."""
    monkeypatch.setattr(backend, 'cupy', fakecupy.make_module())
    counts = collections.Counter()

    def record(kind):
        frames = [f for f in traceback.extract_stack()[:-2] if '/minicls/' in f.filename]
        where = frames[-1] if frames else None
        counts[kind, f'{where.filename.split("/minicls/")[-1]}:{where.lineno}'
               if where else 'outside minicls'] += 1

    def counting(name, original):
        def read(self, *args, **kwargs):
            if not fakecupy._inside[0]:       # not the stand-in's own NumPy work
                record(name)
            return original(self, *args, **kwargs)
        return read

    for name in HOST_READS:
        monkeypatch.setattr(fakecupy.ndarray, name,
                            counting(name, getattr(fakecupy.ndarray, name)))

    def getitem(self, key):
        keys = key if isinstance(key, tuple) else (key,)
        if not fakecupy._inside[0] and any(isinstance(k, np.ndarray) and k.dtype == bool
                                           for k in keys):
            record('boolean mask')                # the result's size is read on the host
        return np.ndarray.__getitem__(self, key)
    monkeypatch.setattr(fakecupy.ndarray, '__getitem__', getitem)
    asnumpy = backend.cupy.asnumpy

    def counted_asnumpy(array):
        record('asnumpy')
        return asnumpy(array)
    monkeypatch.setattr(backend.cupy, 'asnumpy', counted_asnumpy)
    return counts


def _classifier(backbone, head):
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, neck=None, head=head,
                             data_preprocessor=dict(mean=[125.] * 3, std=[60.] * 3,
                                                    num_classes=10)))


def _resnet():
    """ResNet_CIFAR (BN, ReLU, residual adds), cross-entropy, SGD with momentum."""
    model = _classifier(
        dict(type='ResNet_CIFAR', depth=18, num_stages=2, strides=(1, 2), dilations=(1, 1),
             out_indices=(1,), base_channels=8, stem_channels=8),
        dict(type='LinearClsHead', num_classes=10, in_channels=16,
             loss=dict(type='CrossEntropyLoss')))
    model.neck = MODELS.build(dict(type='GlobalAveragePooling'))
    return model, dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))


def _vit():
    """A small ViT (attention, LayerNorm, GELU, DropPath), label smoothing (one_hot), AdamW and
    gradient clipping, as the CPU ViT recipe."""
    model = _classifier(
        dict(type='VisionTransformer', img_size=16, patch_size=4, drop_path_rate=0.1,
             arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)),
        dict(type='VisionTransformerClsHead', num_classes=10, in_channels=16,
             loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1)))
    return model, dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                       clip_grad=dict(max_norm=1.0))


@pytest.mark.parametrize('build', [_resnet, _vit], ids=['resnet', 'vit'])
def test_a_training_step_of_a_model_reads_nothing_back_from_the_device(build, syncs):
    model, optim_cfg = build()
    model.to('cuda').train()
    optim = build_optim_wrapper(model, optim_cfg)
    rng = np.random.default_rng(0)
    batch = {'inputs': rng.integers(0, 255, (4, 3, 16, 16), np.uint8),
             'gt_label': rng.integers(0, 10, 4)}
    for _ in range(2):                   # the second step too: optimizer state exists by then
        syncs.clear()
        data = model.data_preprocessor(batch, training=True)
        losses = model(**data, mode='loss')
        optim.update_params(losses['loss'])
        assert dict(syncs) == {}
    _, log_vars = parse_losses(losses)   # after the step: the one read, for the log
    assert log_vars['loss'] > 0 and syncs


def test_max_pooling_and_clipping_read_nothing_back(syncs):
    """A 2x2 max pool (its backward writes instead of adding), cross-entropy with ignore_index,
    clip_grad_norm_ with max and 2-norms."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5)).to('cuda')
    x = minicls.randn(2, 3, 8, 8).to('cuda')
    target = minicls.tensor(np.array([1, -100])).to('cuda')
    syncs.clear()
    F.cross_entropy(net(x), target, ignore_index=-100).backward()
    for norm_type in (2.0, float('inf')):
        total = minicls.engine.optim.clip_grad_norm_(net.parameters(), 0.5, norm_type)
    assert dict(syncs) == {} and total.device == 'cuda:0'


def test_a_check_on_the_cpu_raises_at_once():
    backend.check(np.array(False), lambda: ValueError('never'))
    with pytest.raises(ValueError, match='bad input'):
        backend.check(np.array(True), lambda: ValueError('bad input'))


def test_a_bad_label_on_the_device_is_reported_by_the_next_host_read(cuda):
    """As CUDA reports a failed device-side assert: at the next call that waits for the GPU."""
    logits = minicls.randn(3, 10).to(cuda)
    loss = F.cross_entropy(logits, minicls.tensor(np.array([1, 11, 2])).to(cuda))   # no error yet
    with pytest.raises(IndexError, match='Target 11 is out of bounds'):
        loss.item()
    assert F.cross_entropy(logits, minicls.tensor(np.array([1, 9, 2])).to(cuda)).item() > 0


@pytest.mark.parametrize('labels, says', [
    ([0, -1], 'must be non-negative, got -1'),
    ([0, 5], 'class value 5 is out of range for num_classes=5')])
def test_one_hot_on_the_device_checks_its_labels_without_a_sync(labels, says, cuda):
    out = F.one_hot(minicls.tensor(np.array(labels)).to(cuda), 5)
    with pytest.raises(ValueError, match=says):
        out.numpy()


def test_cuda_synchronize_answers_the_checks(cuda):
    F.cross_entropy(minicls.randn(2, 3).to(cuda), minicls.tensor(np.array([0, 3])).to(cuda))
    with pytest.raises(IndexError, match='Target 3'):
        minicls.cuda.synchronize()
    minicls.cuda.synchronize()           # answered once: nothing left


def test_unread_checks_are_read_before_they_pile_up(cuda, monkeypatch):
    """A loop that never reads anything back still hears of a bad label, within MAX_PENDING."""
    monkeypatch.setattr(backend, 'MAX_PENDING', 3)
    logits, good = minicls.randn(2, 3).to(cuda), minicls.tensor(np.array([0, 1])).to(cuda)
    F.cross_entropy(logits, minicls.tensor(np.array([0, 7])).to(cuda))
    F.cross_entropy(logits, good)
    with pytest.raises(IndexError, match='Target 7'):
        F.cross_entropy(logits, good)
    assert backend._pending == []
