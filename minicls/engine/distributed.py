"""What the runner does differently when several ranks train or test together (``--launcher
mpi`` of ``minicls.train`` and ``minicls.test``).

Every rank runs the same Runner; these few functions are where they differ from one process:

- :func:`launch`: join the ranks (``minicls.distributed.init_process_group``) and share the
  machine's cores among them;
- :func:`sync_seed`: every rank uses rank 0's seed (the same initial weights, the same
  shuffled order, of which each rank takes its own shard: ``DataLoader(num_replicas, rank)``);
- :func:`wrap_model`: :class:`~minicls.nn.parallel.DistributedDataParallel` averages the
  gradients; :func:`unwrap` gives the model inside, for checkpoints and the optimizer;
- :func:`keep_hook`: hooks that write (logs, checkpoints, pictures, progress bars) run on rank
  0 only; :class:`RankBarrierHook` makes the others wait at the end of each epoch while it
  writes;
- :func:`gather_results`: each rank evaluated its shard; all ranks get every result, in the
  data set's order, without the padding samples, so the metric is the one-process metric.

A failure on one rank ends all of them (``minicls.distributed`` installs an excepthook calling
``MPI_Abort``); a Ctrl-C too (the runner re-raises it instead of saving).
"""
import itertools

from minicls import distributed as dist
from minicls.config.errors import ConfigError
from minicls.nn.parallel import unwrap  # noqa: F401  (re-exported for the runner)

from .hooks.hook import Hook

__all__ = ['launch', 'sync_seed', 'wrap_model', 'unwrap', 'keep_hook', 'RankBarrierHook',
           'gather_metric', 'gather_results']

RANK0_HOOKS = ('LoggerHook', 'CheckpointHook', 'ProgressBarHook', 'RunSummaryHook',
               'VisualizationHook')
LAUNCHERS = ('none', 'mpi')


class LauncherError(ConfigError):
    """A --launcher that cannot be used (printed as one line by the command line tools)."""


def launch(launcher):
    """Start the job for ``--launcher`` (``'none'``: one process; ``'mpi'``: under mpiexec)."""
    if launcher not in LAUNCHERS:
        raise LauncherError(f'--launcher {launcher!r} is not supported by minicls; use one of '
                            f'{", ".join(LAUNCHERS)} (start the ranks with mpiexec)')
    if launcher == 'none':
        return
    if not dist.is_available():
        raise LauncherError(dist.MISSING_MPI)
    dist.init_process_group('mpi')
    dist.set_threads_per_rank()


def sync_seed(seed):
    return dist.broadcast_object(seed, src=0)


def wrap_model(model):
    if dist.get_world_size() == 1:
        return model
    from minicls.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(model)


def keep_hook(hook):
    """False for a hook that writes, on ranks other than 0."""
    return dist.get_rank() == 0 or type(hook).__name__ not in RANK0_HOOKS


class RankBarrierHook(Hook):
    """All ranks wait for each other after each epoch and at the end (rank 0 writes first)."""
    priority = 'LOWEST'

    def after_train_epoch(self, runner):
        dist.barrier()

    def after_run(self, runner):
        dist.barrier()


def gather_metric(metric, size):
    """Several ranks: replace ``metric.results`` by every rank's (:func:`gather_results`)."""
    if dist.get_world_size() == 1:
        return
    if not isinstance(getattr(metric, 'results', None), list):
        raise TypeError(f'{type(metric).__name__} keeps no list `results` of per-sample '
                        'results (as mmengine\'s BaseMetric), so it cannot evaluate on several '
                        'ranks')
    metric.results = gather_results(metric.results, size)


def gather_results(results, size):
    """Every rank's ``results`` (a list per rank, each in its shard's order), merged into the
    data set's order and cut to ``size`` samples (dropping the padding of the last shards).

    Rank r held samples r, r + N, r + 2N... of the order, so taking one result from each rank
    in turn gives back the order."""
    if dist.get_world_size() == 1:
        return results
    parts = dist.all_gather_object([None] * dist.get_world_size(), results)
    merged = [r for row in itertools.zip_longest(*parts) for r in row if r is not None]
    return merged[:size]
