"""``minicls.distributed``: processes ("ranks") that exchange arrays, as ``torch.distributed``.

Data-parallel training runs one copy of the program per rank; they talk only through a few
collective operations, all on NumPy buffers through MPI (mpi4py)::

    all_reduce(x)      every rank ends with the sum over ranks of its x    (in place)
    broadcast(x, src)  every rank ends with rank src's x                   (in place)
    all_gather_object  every rank ends with the list [obj of rank 0, obj of rank 1, ...]
    barrier()          nobody goes on until everybody got here

Start the ranks with MPI's launcher and call :func:`init_process_group` in each::

    mpiexec -n 4 python train.py      # 4 processes; in train.py:
    import minicls.distributed as dist
    dist.init_process_group('mpi')
    print(dist.get_rank(), dist.get_world_size())

Without an initialised group (a plain ``python train.py``) there is one rank: rank 0 of a world
of size 1, and every collective returns at once, leaving its argument as it is.

GPUs: rank r uses GPU ``r % (GPUs on its machine)`` (:func:`init_process_group` selects it).
A CuPy array is sent through a host copy (``array.get()``, MPI on the host buffer, copy back):
correct with any MPI, slower than NCCL or a CUDA-aware MPI (see docs in the README).
"""
import os
import sys
import traceback

import numpy as np

__all__ = ['ReduceOp', 'is_available', 'is_initialized', 'init_process_group', 'get_rank',
           'get_world_size', 'get_local_size', 'barrier', 'broadcast', 'all_reduce',
           'all_reduce_async', 'all_gather_object', 'broadcast_object', 'abort',
           'destroy_process_group',
           'select_device', 'set_threads_per_rank', 'MISSING_MPI']

MISSING_MPI = ('--launcher mpi needs mpi4py and an MPI library: pip install mpi4py mpich '
                   '(or pip install -e ".[dist]" in the minicls folder)')


class ReduceOp:
    """How :func:`all_reduce` combines the ranks' values (``torch.distributed.ReduceOp``)."""
    SUM, MAX, MIN = 'sum', 'max', 'min'


_comm = None  # MPI.COMM_WORLD once init_process_group ran


def is_available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized():
    return _comm is not None


def init_process_group(backend='mpi'):
    """Join the ranks started by ``mpiexec``; also selects this rank's GPU when there are GPUs,
    and makes an uncaught exception on any rank end every rank (:func:`_abort_on_error`)."""
    global _comm
    if backend != 'mpi':
        raise ValueError(f"minicls.distributed supports backend='mpi' only, got {backend!r}")
    if not is_available():
        raise RuntimeError(MISSING_MPI)
    if _comm is not None:
        return
    from mpi4py import MPI
    _comm = MPI.COMM_WORLD
    sys.excepthook = _abort_on_error
    select_device(get_rank())


def select_device(rank):
    """Make GPU ``rank % (GPUs on this machine)`` the current one (``--device cuda`` then means
    it); None without GPUs. Ranks are numbered machine by machine, so the ranks of one machine
    take its GPUs in turn."""
    from minicls import backend, cuda
    if not cuda.is_available():
        return None
    index = rank % cuda.device_count()
    backend.cupy.cuda.Device(index).use()
    return index


def _abort_on_error(kind, value, tb):
    """sys.excepthook: print this rank's traceback, then end every rank (``MPI_Abort``).

    Without it, a rank that dies leaves the others waiting for it in their next all-reduce.
    A Ctrl-C (which mpiexec passes to every rank) ends them too, with one line: the ranks stop
    at different points, so there is no consistent state to save; --resume goes on from the
    last checkpoint."""
    if issubclass(kind, KeyboardInterrupt):
        message = 'interrupted (Ctrl-C): every rank stops; --resume continues from the last ' \
                  'checkpoint\n'
    else:
        message = ''.join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f'[rank {get_rank()}] {message}')
    sys.stderr.flush()
    _comm.Abort(130 if issubclass(kind, KeyboardInterrupt) else 1)


def abort(code=1):
    """End every rank now with exit code ``code`` (``MPI_Abort``): for a rank that stops on its
    own (an error it reports itself), since the others would wait for it forever. Nothing
    happens in one process."""
    if get_world_size() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        _comm.Abort(code)


def destroy_process_group():
    """Leave the group: back to one rank (MPI itself is finalised when Python exits)."""
    global _comm
    _comm = None
    sys.excepthook = sys.__excepthook__


def get_rank():
    return _comm.Get_rank() if _comm is not None else 0


def get_world_size():
    return _comm.Get_size() if _comm is not None else 1


def get_local_size():
    """How many ranks run on this machine (1 without a group)."""
    if _comm is None:
        return 1
    local = _comm.Split_type(_mpi().COMM_TYPE_SHARED)
    size = local.Get_size()
    local.Free()
    return size


def barrier():
    if _comm is not None:
        _comm.Barrier()


def _host(array):
    """(a NumPy array to communicate, a function that writes it back into ``array``)."""
    from minicls.tensor import Tensor
    data = array.data if isinstance(array, Tensor) else array
    if isinstance(data, np.ndarray):
        if data.flags.c_contiguous:
            return data, lambda host: None
        host = np.ascontiguousarray(data)
        return host, lambda host: data.__setitem__(Ellipsis, host)
    host = data.get()  # a CuPy array: through a host copy
    return host, lambda host: data.set(host)


def _mpi():
    """mpi4py's ``MPI`` module (imported only once a group is started: importing it starts MPI)."""
    from mpi4py import MPI
    return MPI


def _mpi_op(op):
    MPI = _mpi()  # noqa: N806 (mpi4py's name)
    ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}
    if op not in ops:
        raise ValueError(f'unknown reduce op {op!r}; use ReduceOp.SUM, MAX or MIN')
    return ops[op]


def all_reduce(tensor, op=ReduceOp.SUM):
    """Replace ``tensor`` (a Tensor or an array) by the sum (max, min) of it over all ranks."""
    if _comm is None:
        return tensor
    host, write_back = _host(tensor)
    _comm.Allreduce(_mpi().IN_PLACE, host, op=_mpi_op(op))
    write_back(host)
    return tensor


class _Work:
    """A started all-reduce (``torch.distributed.Work``): ``wait()`` returns when it is done."""

    def __init__(self, request, host=None, write_back=None):
        self.request, self.host, self.write_back = request, host, write_back

    def wait(self):
        # Test() in a loop rather than Wait(): Python gets to run its signal handlers
        # (Ctrl-C) between the tests instead of blocking inside MPI.
        while not self.request.Test():
            pass
        if self.write_back is not None:
            self.write_back(self.host)
        return True


class _Done:
    def Test(self):  # noqa: N802 (MPI's name)
        return True


def all_reduce_async(tensor, op=ReduceOp.SUM):
    """Start :func:`all_reduce`; returns a work object whose ``wait()`` returns when ``tensor``
    holds the result (``all_reduce(..., async_op=True)`` in torch)."""
    if _comm is None:
        return _Work(_Done())
    host, write_back = _host(tensor)
    return _Work(_comm.Iallreduce(_mpi().IN_PLACE, host, op=_mpi_op(op)), host, write_back)


def broadcast(tensor, src=0):
    """Replace ``tensor`` on every rank by rank ``src``'s (in place)."""
    if _comm is None:
        return tensor
    host, write_back = _host(tensor)
    _comm.Bcast(host, root=src)
    write_back(host)
    return tensor


def all_gather_object(object_list, obj):
    """Fill ``object_list`` (of world-size entries) with every rank's ``obj`` (pickled: only
    between ranks of one job, which trust each other)."""
    gathered = _comm.allgather(obj) if _comm is not None else [obj]
    if len(object_list) != len(gathered):
        raise ValueError(f'all_gather_object: object_list has {len(object_list)} entries, the '
                         f'world size is {len(gathered)}')
    object_list[:] = gathered
    return object_list


def broadcast_object(obj, src=0):
    """Rank ``src``'s ``obj`` on every rank."""
    return _comm.bcast(obj, root=src) if _comm is not None else obj


def set_threads_per_rank():
    """Share this machine's cores among its ranks: ``MINICLS_NUM_THREADS``, else cores / ranks
    on the machine, for minicls's thread pool and BLAS (so ranks do not oversubscribe)."""
    from minicls import parallel
    n = os.environ.get('MINICLS_NUM_THREADS')
    n = int(n) if n else max(1, parallel._cores() // get_local_size())
    parallel.set_num_threads(n)
    parallel.set_blas_threads(n)
    return n
