"""minicls.distributed and DistributedDataParallel in one process: without a group every
collective leaves its argument alone; with a stand-in communicator of two equal ranks the
buffers, buckets, no_sync and device copies are checked without MPI processes."""
import types

import numpy as np
import pytest

import minicls
import minicls.distributed as dist
from minicls import nn
from minicls.nn.parallel import DistributedDataParallel


def test_without_a_group_there_is_one_rank():
    assert not dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_size()) == (0, 1, 1)
    x = np.arange(3.0)
    assert dist.all_reduce(x) is x and x.tolist() == [0, 1, 2]
    assert dist.broadcast(x, src=0) is x and x.tolist() == [0, 1, 2]
    assert dist.all_gather_object([None], {'a': 1}) == [{'a': 1}]
    dist.barrier()
    with pytest.raises(ValueError, match='world size is 1'):
        dist.all_gather_object([None, None], 1)
    with pytest.raises(ValueError, match="backend='mpi' only"):
        dist.init_process_group('nccl')


class TwoEqualRanks:
    """An MPI communicator as rank 0 sees it when rank 1 holds the same values: a sum doubles
    them; broadcasts from rank 0 change nothing (they are counted)."""

    def __init__(self):
        self.reduces, self.broadcasts = [], 0

    def Get_rank(self):  # noqa: N802 (MPI's names)
        return 0

    def Get_size(self):  # noqa: N802
        return 2

    def Allreduce(self, inplace, buffer, op):  # noqa: N802
        self.reduces.append(buffer.size)
        if op == 'sum':  # max and min of two equal values: the value
            buffer *= 2

    def Iallreduce(self, inplace, buffer, op):  # noqa: N802
        self.Allreduce(inplace, buffer, op)
        return type('Request', (), {'Test': lambda self: True})()

    def Bcast(self, buffer, root):  # noqa: N802
        self.broadcasts += 1

    def allgather(self, obj):
        return [obj, obj]


@pytest.fixture
def two_ranks(monkeypatch):
    comm = TwoEqualRanks()
    monkeypatch.setattr(dist, '_comm', comm)
    monkeypatch.setattr(dist, '_mpi', lambda: types.SimpleNamespace(  # mpi4py's MPI module
        IN_PLACE=None, SUM='sum', MAX='max', MIN='min'))
    return comm


def test_all_reduce_writes_back_into_tensors_and_strided_arrays(two_ranks):
    t = minicls.tensor([1.0, 2.0])
    assert dist.all_reduce(t) is t and t.tolist() == [2, 4]
    a = np.arange(6.0).reshape(2, 3).T  # not contiguous: through a copy, written back
    dist.all_reduce(a)
    assert a.tolist() == [[0, 6], [2, 8], [4, 10]]
    dist.all_reduce(a, op=dist.ReduceOp.MAX)
    assert a.tolist() == [[0, 6], [2, 8], [4, 10]]
    with pytest.raises(ValueError, match='unknown reduce op'):
        dist.all_reduce(a, op='mean')


def test_all_reduce_of_a_device_array_goes_through_the_host(two_ranks, cuda):
    t = minicls.tensor([1.0, 2.0], device=cuda)
    dist.all_reduce(t)
    assert t.device == 'cuda:0' and t.cpu().tolist() == [2, 4]


def _model():
    minicls.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _loss(model):
    x = minicls.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    return model(x).square().mean()


def test_gradients_are_averaged_in_buckets(two_ranks):
    plain = _model()
    _loss(plain).backward()
    ddp = DistributedDataParallel(_model(), bucket_cap_mb=40 / 2 ** 20)  # 40 bytes a bucket
    assert two_ranks.broadcasts == 9  # 6 parameters + 3 buffers of the BN
    _loss(ddp).backward()
    for p, q in zip(plain.parameters(), ddp.module.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6)  # (2g) / 2
    # parameter sizes 12, 4, 4, 4, 8, 2 floats: buckets of <= 10 floats, a big one alone
    assert two_ranks.reduces == [12, 8, 4, 10]


def test_no_sync_keeps_gradients_local_until_the_next_backward(two_ranks):
    ddp = DistributedDataParallel(_model())
    with ddp.no_sync():
        _loss(ddp).backward()
    assert two_ranks.reduces == []
    _loss(ddp).backward()
    assert two_ranks.reduces == [34]  # one bucket: everything, accumulated over both
    ddp.eval()
    with minicls.no_grad():
        ddp(minicls.tensor(np.zeros((2, 3), np.float32)))
    _loss(ddp.module).backward()  # no forward of the wrapper in training: no all-reduce
    assert two_ranks.reduces == [34]


def test_the_wrapper_reaches_the_model_and_its_device_gradients(two_ranks, cuda):
    model = _model()
    model.data_preprocessor = 'the preprocessor'
    ddp = DistributedDataParallel(model)
    assert ddp.data_preprocessor == 'the preprocessor' and ddp.module is model
    assert list(ddp.state_dict())[0] == 'module.0.weight'  # as torch
    with pytest.raises(AttributeError, match='nothing_here'):
        ddp.nothing_here
    ddp.to(cuda)
    x = minicls.tensor(np.ones((5, 3), np.float32), device=cuda)
    ddp(x).square().mean().backward()
    assert all(p.grad.device == 'cuda:0' for p in model.parameters())


def test_each_rank_takes_its_own_gpu(cuda, monkeypatch):
    from minicls import backend
    used = []
    monkeypatch.setattr(backend.cupy.cuda.runtime, 'getDeviceCount', lambda: 4, raising=False)
    monkeypatch.setattr(backend.cupy.cuda, 'Device',
                        lambda i: type('D', (), {'use': lambda self: used.append(i)})())
    assert [dist.select_device(rank) for rank in range(6)] == [0, 1, 2, 3, 0, 1] == used


@pytest.mark.parametrize('error,code', [(KeyboardInterrupt(), 130), (ValueError('bad'), 1)])
def test_an_uncaught_error_aborts_every_rank(two_ranks, capsys, error, code):
    """The excepthook init_process_group installs: this rank's message, then MPI_Abort."""
    aborted = []
    two_ranks.Abort = aborted.append
    try:
        raise error
    except BaseException as err:  # noqa: B036
        dist._abort_on_error(type(err), err, err.__traceback__)
    err = capsys.readouterr().err
    assert aborted == [code] and err.startswith('[rank 0] ')
    if code == 130:
        assert err.count('\n') == 1 and '--resume' in err
    else:
        assert 'Traceback' in err and 'ValueError: bad' in err


@pytest.mark.parametrize('round_up', [True, False])
def test_the_loader_shards_by_rank_and_gathering_restores_the_order(round_up, monkeypatch):
    """mmengine's DefaultSampler: one order per epoch, padded (round_up) to a multiple of the
    ranks; rank r takes every N-th. Gathered back, the results are the data set in order."""
    from minicls.datasets import DataLoader
    from minicls.engine import distributed as engine_dist
    data = list(range(10))
    loaders = [DataLoader(data, batch_size=2, shuffle=True, seed=4, num_replicas=3, rank=r,
                          round_up=round_up, collate_fn=list) for r in range(3)]
    shards = [[i for batch in loader for i in batch] for loader in loaders]
    order = np.random.default_rng(4).permutation(10).tolist()
    assert [len(s) for s in shards] == ([4, 4, 4] if round_up else [4, 3, 3])
    assert [len(loader) for loader in loaders] == [2, 2, 2]
    assert sorted(sum(shards, [])) == sorted(data + (order[:2] if round_up else []))
    one = DataLoader(data, batch_size=4, shuffle=True, seed=4, collate_fn=list)
    assert [i for batch in one for i in batch] == order  # one process: the same order
    monkeypatch.setattr(dist, 'get_world_size', lambda: 3)
    monkeypatch.setattr(dist, 'all_gather_object', lambda out, obj: shards)
    assert engine_dist.gather_results(shards[0], 10) == order
    with pytest.raises(ValueError, match=r'rank must be in \[0, 3\)'):
        DataLoader(data, num_replicas=3, rank=3)


def test_a_user_error_on_one_rank_ends_every_rank(two_ranks, capsys, tmp_path):
    """The command lines print it with the rank, then MPI_Abort (the other ranks would wait
    for this one in their next all-reduce)."""
    from minicls.train import main
    aborted = []
    two_ranks.Abort = aborted.append
    assert main([str(tmp_path / 'missing.py')]) == 2
    assert aborted == [2]
    assert capsys.readouterr().err.startswith('[rank 0] error: ')
    dist.abort(3)
    assert aborted == [2, 3]
