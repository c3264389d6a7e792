"""Batches from a dataset: :class:`DataLoader`, :func:`default_collate`, :func:`build_dataloader`.

Each epoch the loader splits the sample indices (shuffled with the seed ``seed + epoch``) into
batches, runs every sample of a batch through the dataset's pipeline, and stacks the results
with :func:`default_collate` into one array per key.

With ``num_workers > 0`` batches are made in background threads, up to ``num_workers * prefetch``
of them ahead of the training loop, so that decoding and augmentation overlap the model's
compute. Threads are enough because the heavy parts (Pillow's decoders, NumPy copies, BLAS in
the model) release Python's GIL. Results come back in order, and each batch seeds the
transforms' random generator from ``(seed, epoch, batch index)`` first, so a run gives the same
batches with 0, 1 or 8 workers. An exception in a worker is re-raised in the training loop,
with its original traceback and a note saying which batch failed.

Decoding many small JPEG files is mostly Python code inside Pillow, which holds the GIL; for
that case ``worker_type='process'`` makes batches in worker processes instead (same batches,
same order; each process gets its own copy of the dataset once, at start).

Explained in tutorials/08_data_pipeline.md.
"""
import collections
import itertools
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from minicls.config.errors import ConfigKeyError, check_keys
from minicls.registry import DATASETS

from .transforms import seed_transforms

__all__ = ['DataLoader', 'default_collate', 'build_dataloader']


def default_collate(samples):
    """Stack a list of packed samples (dicts) into one batch dict.

    Arrays are stacked on a new first axis into one contiguous array (``inputs`` becomes
    ``(N, C, H, W)`` uint8); ints become an int64 array, floats float64, bools bool; anything
    else (``img_path`` strings) becomes a list.
    """
    if not samples:
        raise ValueError('default_collate got an empty list of samples')
    if not all(isinstance(s, dict) for s in samples):
        raise TypeError('default_collate expects dicts (end the pipeline with PackInputs), '
                        f'but got {type(samples[0]).__name__}')
    batch = {}
    for key in samples[0]:
        try:
            values = [s[key] for s in samples]
        except KeyError:
            raise KeyError(f'default_collate: some samples have no {key!r} (others do)') from None
        first = values[0]
        if isinstance(first, np.ndarray):
            shapes = {v.shape for v in values}
            if len(shapes) > 1:
                raise ValueError(f'default_collate: cannot stack {key!r}, the samples have '
                                 f'different shapes {sorted(shapes)}; add a Resize or crop to '
                                 'the pipeline so that all images have the same size')
            batch[key] = np.stack(values)
        elif isinstance(first, (bool, np.bool_)):
            batch[key] = np.array(values, dtype=bool)
        elif isinstance(first, (int, np.integer)):
            batch[key] = np.array(values, dtype=np.int64)
        elif isinstance(first, (float, np.floating)):
            batch[key] = np.array(values, dtype=np.float64)
        else:
            batch[key] = values
    return batch


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        batch_size (int): samples per batch.
        shuffle (bool): a new order every epoch, from the seed ``seed + epoch``.
        drop_last (bool): drop the last batch if it is smaller than ``batch_size``.
        num_workers (int): background threads making batches; 0 makes them in the caller.
        seed (int | None): base seed for shuffling and augmentation; None picks one at random.
        collate_fn (callable | None): list of samples -> batch; default :func:`default_collate`.
        prefetch (int): batches queued ahead per worker.
        worker_type (str): ``'thread'`` (default) or ``'process'``.
        num_replicas, rank (int | None): data-parallel sharding, as mmengine's
            ``DefaultSampler``; default: the world size and rank of ``minicls.distributed``.
            Each epoch's order (the same on every rank) is padded with its own first indices to
            a multiple of ``num_replicas`` (``round_up=True``), and rank r takes every
            ``num_replicas``-th index from the r-th on: the shards are disjoint and together
            are the data set (plus the padding).
        round_up (bool): pad the order as above; False: no padding, some ranks get one less.

    The epoch advances by one each time the loader is iterated; :meth:`set_epoch` sets it
    (the runner calls it at the start of each epoch, so resumed runs shuffle the same way).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, num_workers=0,
                 seed=None, collate_fn=None, prefetch=2, worker_type='thread', num_replicas=None,
                 rank=None, round_up=True):
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if int(num_workers) < 0:
            raise ValueError(f'num_workers must be >= 0, got {num_workers}')
        if int(prefetch) < 1:
            raise ValueError(f'prefetch must be >= 1, got {prefetch}')
        if worker_type not in ('thread', 'process'):
            raise ValueError(f"worker_type must be 'thread' or 'process', got {worker_type!r}")
        self.dataset = dataset
        self.worker_type = worker_type
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_workers = int(num_workers)
        self.prefetch = int(prefetch)
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy
                                                            % (2 ** 31))
        self.collate_fn = collate_fn or default_collate
        self.epoch = 0
        from minicls import distributed as dist
        self.num_replicas = dist.get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = dist.get_rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f'rank must be in [0, {self.num_replicas}), got {self.rank}')
        self.round_up = bool(round_up)

    def set_epoch(self, epoch):
        """Use ``epoch`` for the next iteration (shuffle order and augmentation seeds)."""
        self.epoch = int(epoch)

    def __len__(self):
        n = self.num_samples()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def num_samples(self):
        """Samples this rank takes per epoch (the whole data set in one process)."""
        n, world = len(self.dataset), self.num_replicas
        if self.round_up:
            return math.ceil(n / world)
        return len(range(self.rank, n, world))

    def batch_indices(self, epoch):
        """The list of index arrays, one per batch, for ``epoch`` (this rank's shard)."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.num_replicas > 1:
            if self.round_up and n:
                order = np.resize(order, math.ceil(n / self.num_replicas) * self.num_replicas)
            order = order[self.rank::self.num_replicas]
        bs = self.batch_size
        return [order[i * bs:(i + 1) * bs] for i in range(len(self))]

    def load_batch(self, epoch, index, indices):
        """Make batch number ``index`` of ``epoch`` from the samples ``indices``."""
        rank = [self.rank] if self.num_replicas > 1 else []
        seed_transforms([self.seed, epoch, index] + rank, epoch=epoch)
        return self.collate_fn([self.dataset[int(i)] for i in indices])

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        batches = self.batch_indices(epoch)
        if self.num_workers == 0:
            for index, indices in enumerate(batches):
                yield self.load_batch(epoch, index, indices)
        else:
            yield from self._iter_workers(epoch, batches)

    def _make_pool(self):
        if self.worker_type == 'thread':
            return ThreadPoolExecutor(self.num_workers, thread_name_prefix='minicls-data'), \
                self.load_batch
        # Each process receives this loader once (through the initializer), not with each batch.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context('fork' if 'fork' in methods else None)
        pool = ProcessPoolExecutor(self.num_workers, mp_context=context,
                                   initializer=_init_process_worker, initargs=(self,))
        return pool, _load_batch_in_process

    def _iter_workers(self, epoch, batches):
        jobs = enumerate(batches)
        pool, load = self._make_pool()
        with pool:
            queue = collections.deque(
                (index, pool.submit(load, epoch, index, indices))
                for index, indices in itertools.islice(jobs, self.num_workers * self.prefetch))
            try:
                while queue:
                    index, future = queue.popleft()
                    for nxt, indices in itertools.islice(jobs, 1):  # keep the queue full
                        queue.append((nxt, pool.submit(load, epoch, nxt, indices)))
                    try:
                        batch = future.result()
                    except Exception as err:
                        if hasattr(err, 'add_note'):  # Python 3.11+
                            err.add_note(f'(raised in a DataLoader worker while making '
                                         f'batch {index} of epoch {epoch}, samples '
                                         f'{batches[index][:8].tolist()}...)')
                        raise
                    yield batch
            finally:  # stopped early or failed: drop the batches not started yet
                for _, future in queue:
                    future.cancel()

    def __repr__(self):
        return (f'DataLoader(dataset={type(self.dataset).__name__}[{len(self.dataset)}], '
                f'batch_size={self.batch_size}, shuffle={self.shuffle}, '
                f'drop_last={self.drop_last}, num_workers={self.num_workers}, seed={self.seed})')


_PROCESS_LOADER = None  # the loader a worker process serves (set by the pool's initializer)


def _init_process_worker(loader):
    global _PROCESS_LOADER
    _PROCESS_LOADER = loader


def _load_batch_in_process(epoch, index, indices):
    return _PROCESS_LOADER.load_batch(epoch, index, indices)


_COLLATE_FNS = {'default_collate': default_collate}
_SAMPLERS = ('DefaultSampler', 'SequentialSampler', 'RandomSampler')
_LOADER_KEYS = {'batch_size', 'num_workers', 'dataset', 'sampler', 'collate_fn', 'drop_last',
                'shuffle', 'seed', 'prefetch', 'prefetch_factor', 'worker_type',
                'persistent_workers', 'pin_memory'}  # the last two are accepted and ignored


def _build_collate(collate_fn):
    if collate_fn is None or callable(collate_fn):
        return collate_fn
    name = collate_fn.get('type') if isinstance(collate_fn, dict) else collate_fn
    if isinstance(collate_fn, dict) and set(collate_fn) - {'type'}:
        raise ConfigKeyError(f'collate_fn takes no options, got {collate_fn}')
    if name not in _COLLATE_FNS:
        raise ConfigKeyError(f'unknown collate_fn {name!r}; known: {sorted(_COLLATE_FNS)}')
    return _COLLATE_FNS[name]


def build_dataloader(cfg, seed=None):
    """Build a :class:`DataLoader` from mmpretrain's dataloader dict.

    ``dict(batch_size=16, num_workers=2, dataset=dict(type='CIFAR10', ...),
    sampler=dict(type='DefaultSampler', shuffle=True), collate_fn=dict(type='default_collate'),
    persistent_workers=True, pin_memory=True, drop_last=False)``. ``pin_memory`` and
    ``persistent_workers`` are accepted and ignored; unknown keys are an error. The sampler's
    ``seed`` (if any) wins over ``seed``.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'a dataloader config must be a dict, got {type(cfg).__name__}')
    check_keys(cfg, _LOADER_KEYS, 'the dataloader config')
    if 'dataset' not in cfg:
        raise ConfigKeyError('the dataloader config needs a "dataset" entry')
    dataset = cfg['dataset']
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset)
    shuffle = cfg.get('shuffle', False)
    sampler = cfg.get('sampler')
    if sampler is not None:
        sampler = dict(sampler)
        kind = sampler.pop('type', 'DefaultSampler')
        if kind not in _SAMPLERS:
            raise ConfigKeyError(f'unknown sampler {kind!r}; supported: {list(_SAMPLERS)}')
        check_keys(sampler, ('seed', 'round_up') + (('shuffle', ) if kind == 'DefaultSampler'
                                                    else ()), f'the {kind}')
        shuffle = {'DefaultSampler': sampler.pop('shuffle', True), 'SequentialSampler': False,
                   'RandomSampler': True}[kind]
        seed = sampler.pop('seed', None) if sampler.get('seed') is not None else seed
        sampler.pop('seed', None)
    round_up = (sampler or {}).pop('round_up', True)
    return DataLoader(
        dataset, batch_size=cfg.get('batch_size', 1), shuffle=shuffle,
        drop_last=cfg.get('drop_last', False), num_workers=cfg.get('num_workers', 0),
        seed=cfg.get('seed', seed), collate_fn=_build_collate(cfg.get('collate_fn')),
        prefetch=cfg.get('prefetch', cfg.get('prefetch_factor', 2)),
        worker_type=cfg.get('worker_type', 'thread'), round_up=round_up)
