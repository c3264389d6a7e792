"""Run by tests/test_distributed/test_ddp.py under ``mpiexec -n 2``: what each rank does.

``python mpi_ranks.py OUT`` trains, shards and evaluates, and writes each rank's results into
the folder OUT (``rank<r>.npz``, ``rank<r>.json``) for the test to compare with one process.
``python mpi_ranks.py --raise`` makes rank 1 fail while rank 0 waits in a collective.
"""
import json
import sys

import numpy as np

import minicls
import minicls.distributed as dist
from minicls import nn
from minicls.nn.parallel import DistributedDataParallel

B, STEPS = 8, 3


def make_model(norm):
    minicls.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), norm(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3)).double()


def batches():
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(B, 3, 5, 5)), rng.integers(0, 3, B)) for _ in range(STEPS)]


def train(model, rank=0, world=1):
    """STEPS SGD steps; rank r takes its B / world images of each batch."""
    from minicls.engine.optim import SGD
    optimizer = SGD(model.parameters(), lr=0.5, momentum=0.9)
    share = B // world
    for x, y in batches():
        part = slice(rank * share, (rank + 1) * share)
        loss = nn.functional.cross_entropy(model(minicls.tensor(x[part])),
                                           minicls.tensor(y[part]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: np.array(v) for k, v in getattr(model, "module", model).state_dict().items()}


def main(out):
    dist.init_process_group('mpi')
    rank, world = dist.get_rank(), dist.get_world_size()
    arrays = {}
    for name, norm in (('sync', nn.SyncBatchNorm), ('plain', nn.BatchNorm2d)):
        ddp = DistributedDataParallel(make_model(norm))
        for key, value in train(ddp, rank, world).items():
            arrays[f'{name}/{key}'] = value
    # The sampler: this rank's shard of 11 samples, two epochs; and sharded evaluation.
    from minicls.datasets import DataLoader
    from minicls.engine.distributed import gather_results
    from minicls.evaluation.metrics.single_label import Accuracy
    loader = DataLoader(list(range(11)), batch_size=2, shuffle=True, seed=3,
                        collate_fn=lambda s: s)
    shards = [[i for batch in loader.batch_indices(epoch) for i in batch.tolist()]
              for epoch in (0, 1)]
    rng = np.random.default_rng(5)
    scores, labels = rng.random((11, 3)), rng.integers(0, 3, 11)
    metric = Accuracy(topk=(1, 2))
    evaluation = DataLoader(list(range(11)), batch_size=4, collate_fn=lambda s: np.array(s))
    for indices in evaluation:
        metric.process({'gt_label': labels[indices]}, {'pred_score': scores[indices]})
    metric.results = gather_results(metric.results, 11)
    dist.set_threads_per_rank()
    report = dict(world=world, len=len(loader), shards=shards, metric=metric.evaluate(),
                  threads=minicls.get_num_threads(), local=dist.get_local_size())
    np.savez(f'{out}/rank{rank}.npz', **arrays)
    with open(f'{out}/rank{rank}.json', 'w') as f:
        json.dump(report, f)


def fail():
    dist.init_process_group('mpi')
    if dist.get_rank() == 1:
        raise ValueError('rank 1 fails on purpose')
    dist.barrier()  # rank 0 would wait here forever without the abort


if __name__ == '__main__':
    fail() if sys.argv[1] == '--raise' else main(sys.argv[1])
