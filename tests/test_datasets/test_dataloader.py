"""DataLoader: batching, shuffling per epoch, reproducibility with workers, errors, configs."""
import pickle
import threading
import time
import traceback

import numpy as np
import pytest

from minicls.datasets import BaseDataset, DataLoader, build_dataloader, default_collate
from minicls.datasets.transforms import get_rng


class ToyDataset(BaseDataset):
    """n images whose pixels all equal their index; labels index % 3."""

    METAINFO = {'classes': ('a', 'b', 'c')}

    def __init__(self, n=10, fail_at=None, **kwargs):
        self.n, self.fail_at = n, fail_at
        super().__init__(**kwargs)

    def load_data_list(self):
        return [{'img': np.full((4, 4, 3), i, np.uint8), 'gt_label': i % 3,
                 'img_path': f'{i}.png'} for i in range(self.n)]

    def __getitem__(self, idx):
        if idx == self.fail_at:
            raise ValueError(f'boom at {idx}')
        return super().__getitem__(idx)


PIPE = [dict(type='RandomCrop', crop_size=3, padding=1), dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs')]


def test_batches_follow_the_contract():
    loader = DataLoader(ToyDataset(10, pipeline=[dict(type='PackInputs')]), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b['gt_label']) for b in batches] == [4, 4, 2]
    b = batches[0]
    assert sorted(b) == ['gt_label', 'img_path', 'inputs', 'sample_idx']
    assert b['inputs'].shape == (4, 3, 4, 4) and b['inputs'].dtype == np.uint8
    assert b['inputs'].flags.c_contiguous
    assert b['gt_label'].dtype == np.int64 and b['gt_label'].tolist() == [0, 1, 2, 0]
    assert b['sample_idx'].dtype == np.int64 and b['sample_idx'].tolist() == [0, 1, 2, 3]
    assert b['img_path'] == ['0.png', '1.png', '2.png', '3.png']
    assert (b['inputs'][2] == 2).all()
    assert len(DataLoader(ToyDataset(10), batch_size=4, drop_last=True)) == 2
    assert [len(x['gt_label']) for x in DataLoader(ToyDataset(10, pipeline=[dict(type='PackInputs')]),
                                                   batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_is_seeded_per_epoch():
    ds = ToyDataset(20, pipeline=[dict(type='PackInputs')])
    loader = DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    e0 = next(iter(loader))['sample_idx'].tolist()
    e1 = next(iter(loader))['sample_idx'].tolist()  # iterating again moves to epoch 1
    assert sorted(e0) == list(range(20)) and e0 != e1 and e0 != list(range(20))
    assert e0 == np.random.default_rng(3).permutation(20).tolist()  # seed + epoch 0
    loader.set_epoch(0)
    assert next(iter(loader))['sample_idx'].tolist() == e0
    other = DataLoader(ds, batch_size=20, shuffle=True, seed=3)
    other.set_epoch(1)
    assert next(iter(other))['sample_idx'].tolist() == e1


def test_same_batches_with_and_without_workers():
    ds = ToyDataset(37, pipeline=PIPE)
    runs = []
    for workers in (0, 1, 3):
        loader = DataLoader(ds, batch_size=5, shuffle=True, seed=11, num_workers=workers)
        loader.set_epoch(2)
        runs.append(list(loader))
    for batches in runs[1:]:
        assert len(batches) == len(runs[0]) == 8
        for a, b in zip(runs[0], batches):
            np.testing.assert_array_equal(a['inputs'], b['inputs'])
            np.testing.assert_array_equal(a['sample_idx'], b['sample_idx'])
    # the crops really are random: some windows reach into the zero padding, some do not
    padded = [(x == 0).any() for b in runs[0] for x, i in zip(b['inputs'], b['sample_idx']) if i]
    assert 0 < sum(padded) < len(padded)


def test_workers_run_in_background_and_overlap():
    seen = []

    class Slow(ToyDataset):
        def __getitem__(self, idx):
            seen.append(threading.current_thread().name)
            time.sleep(0.1)  # sleeping needs no CPU: the overlap shows even on a busy machine
            return super().__getitem__(idx)

    loader = DataLoader(Slow(8, pipeline=[dict(type='PackInputs')]), batch_size=2,
                        num_workers=2, prefetch=2)
    start = time.perf_counter()
    n = sum(len(b['gt_label']) for b in loader)
    assert n == 8 and all(name.startswith('minicls-data') for name in seen)
    assert time.perf_counter() - start < 8 * 0.1 * 0.8  # two threads beat one (~0.4 s vs 0.8)


def test_worker_exception_propagates_with_traceback():
    loader = DataLoader(ToyDataset(10, fail_at=7, pipeline=[dict(type='PackInputs')]),
                        batch_size=2, num_workers=2)
    with pytest.raises(ValueError, match='boom at 7') as info:
        list(loader)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert '__getitem__' in frames  # the worker's frames are kept
    notes = getattr(info.value, '__notes__', None)
    if notes is not None:
        assert 'batch 3' in notes[-1]


def test_early_break_stops_cleanly():
    loader = DataLoader(ToyDataset(100, pipeline=[dict(type='PackInputs')]), batch_size=2,
                        num_workers=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    assert len(list(loader)) == 50


def test_collate_errors_and_types():
    with pytest.raises(ValueError, match='different shapes'):
        default_collate([{'inputs': np.zeros((3, 2, 2))}, {'inputs': np.zeros((3, 4, 4))}])
    with pytest.raises(TypeError, match='PackInputs'):
        default_collate([np.zeros(3)])
    out = default_collate([{'a': 1.5, 'f': True, 'o': None}, {'a': 2.0, 'f': False, 'o': None}])
    assert out['a'].dtype == np.float64 and out['f'].dtype == bool and out['o'] == [None, None]


def test_transform_rng_is_per_thread():
    loader = DataLoader(ToyDataset(4), batch_size=2, seed=5)
    loader.load_batch(0, 0, [0, 1])
    a = get_rng().random()
    loader.load_batch(0, 0, [0, 1])
    assert get_rng().random() == a


def test_build_dataloader_from_mmpretrain_dict(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    data = np.random.default_rng(0).integers(0, 256, (6, 3072), dtype=np.uint8)
    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump({b'data': data, b'labels': [0, 1, 2, 3, 4, 5]}, f)
    cfg = dict(batch_size=4, num_workers=2,
               dataset=dict(type='CIFAR10', data_root=str(tmp_path), split='test',
                             download=False, pipeline=[dict(type='PackInputs')]),
               sampler=dict(type='DefaultSampler', shuffle=False), persistent_workers=True,
               pin_memory=True, collate_fn=dict(type='default_collate'), drop_last=False)
    loader = build_dataloader(cfg, seed=0)
    batches = list(loader)
    assert [b['gt_label'].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    np.testing.assert_array_equal(batches[1]['inputs'][1].reshape(-1), data[5])
    shuffled = build_dataloader(dict(cfg, sampler=dict(type='DefaultSampler', seed=9)))
    assert shuffled.shuffle and shuffled.seed == 9
    with pytest.raises(KeyError, match='batchsize'):
        build_dataloader(dict(cfg, batchsize=3))
    with pytest.raises(KeyError, match='InfiniteSampler'):
        build_dataloader(dict(cfg, sampler=dict(type='InfiniteSampler')))
    with pytest.raises(KeyError, match='pseudo_collate'):
        build_dataloader(dict(cfg, collate_fn=dict(type='pseudo_collate')))


def test_process_workers_give_the_same_batches_and_errors():
    ds = ToyDataset(23, pipeline=PIPE)
    threads = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1, num_workers=2))
    procs = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1, num_workers=2,
                            worker_type='process'))
    assert len(procs) == 6
    for a, b in zip(threads, procs):
        np.testing.assert_array_equal(a['inputs'], b['inputs'])
        assert a['img_path'] == b['img_path']
    bad = DataLoader(ToyDataset(6, fail_at=5, pipeline=[dict(type='PackInputs')]), batch_size=2,
                     num_workers=2, worker_type='process')
    with pytest.raises(ValueError, match='boom at 5') as info:
        list(bad)
    assert '__getitem__' in str(info.value.__cause__)  # the worker's traceback, as text
    with pytest.raises(ValueError, match='worker_type'):
        DataLoader(ds, worker_type='fiber')
