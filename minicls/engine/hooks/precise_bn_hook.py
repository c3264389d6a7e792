"""``PreciseBNHook``: recompute the BN running statistics after a training epoch.

A BN layer keeps running averages of the batch means and variances for testing. They are
updated in the forward pass of each step, and then the step changes the weights, so the
averages always describe slightly older weights. With large learning rates (the fast CIFAR
recipe moves BN biases with 64x the base rate) the gap can be large enough that the network
is good with batch statistics and near chance with its running ones. This hook runs
``num_samples`` training images through the model in training mode, without gradients, and
sets every BN layer's statistics to the plain average over those batches (mmpretrain's
``PreciseBNHook``), after every ``interval``-th and after the last training epoch, before the
checkpoint is saved and before validation.

Several ranks: each runs its own shard's batches, ``num_samples`` images in all; the sums of
the batch statistics and the batch counts are added up over the ranks (an all-reduce, as
mmpretrain's hook), so every rank ends with the same statistics: the average over all batches.

With an ``EMAHook`` the averaged weights are swapped in while the statistics are computed:
they are the weights that are validated and saved as the checkpoint's ``state_dict``.

Explained in tutorials/13_training_fast.md.
"""
import numpy as np

from minicls import distributed as dist
from minicls.autograd import no_grad
from minicls.backend import get_array_module
from minicls.config.errors import check_number
from minicls.nn.parallel import unwrap
from minicls.registry import HOOKS

from .ema_hook import EMAHook
from .hook import Hook

__all__ = ['PreciseBNHook']


def _batch_norms(model):
    from minicls.nn.modules.batchnorm import _BatchNorm
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Args:
        num_samples (int): training images to average over, all ranks together, in whole
            batches (at least one per rank). Defaults to 8192.
        interval (int): every ``interval`` epochs, and after the last one. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'   # before CheckpointHook saves the epoch

    def __init__(self, num_samples=8192, interval=1):
        self.num_samples = check_number(num_samples, 'PreciseBNHook: num_samples', low=1)
        self.interval = check_number(interval, 'PreciseBNHook: interval', low=1)

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch % self.interval and epoch != runner.max_epochs:
            return
        model = unwrap(runner.model)   # several ranks: the model inside DDP
        norms = _batch_norms(model)
        if not norms:
            runner.logger.info('PreciseBNHook: the model has no BN layer; nothing to do')
            return
        emas = [h.ema for h in runner.hooks if isinstance(h, EMAHook) and h.ema is not None]
        for ema in emas:
            ema.swap(model)
        try:
            seen = self.update_bn_stats(runner, norms)
        finally:
            for ema in emas:
                ema.swap(model)
        runner.logger.info(f'PreciseBNHook: BN statistics of {len(norms)} layers recomputed on '
                           f'{seen} training images' + (' (averaged weights)' if emas else ''))

    def update_bn_stats(self, runner, norms):
        """Average the batch statistics of whole training batches (of every rank); returns the
        image count (of every rank)."""
        loader, model = runner.train_dataloader, unwrap(runner.model)
        world = dist.get_world_size()
        sums, batches, seen = None, 0, 0
        momenta = [bn.momentum for bn in norms]
        for bn in norms:      # momentum 1: the running statistics become this batch's
            bn.momentum = 1.0
        try:
            with no_grad():
                for index, indices in enumerate(loader.batch_indices(runner.epoch)):
                    data = model.data_preprocessor(
                        loader.load_batch(runner.epoch, index, indices), training=True)
                    model(**data, mode='tensor')
                    stats = [(bn.running_mean.data.copy(), bn.running_var.data.copy())
                             for bn in norms]
                    sums = stats if sums is None else [
                        (m0 + m1, v0 + v1) for (m0, v0), (m1, v1) in zip(sums, stats)]
                    batches, seen = batches + 1, seen + len(indices)
                    if seen * world >= self.num_samples:   # every rank: a shard as large
                        break
        finally:
            for bn, momentum in zip(norms, momenta):
                bn.momentum = momentum
        sums, batches, seen = _sum_over_ranks(sums, batches, seen)
        for bn, (mean, var) in zip(norms, sums):
            bn.running_mean.data[...] = mean / batches
            bn.running_var.data[...] = var / batches
        return seen


def _sum_over_ranks(sums, batches, seen):
    """The ``(mean, var)`` sums and the counts added up over the ranks (one all-reduce each)."""
    if dist.get_world_size() == 1:
        return sums, batches, seen
    xp = get_array_module(sums[0][0])
    arrays = [a for pair in sums for a in pair]
    flat = xp.concatenate([a.ravel() for a in arrays])
    dist.all_reduce(flat)
    counts = dist.all_reduce(np.array([batches, seen], dtype=np.int64))
    parts, start = [], 0
    for a in arrays:
        parts.append(flat[start:start + a.size].reshape(a.shape))
        start += a.size
    return list(zip(parts[::2], parts[1::2])), int(counts[0]), int(counts[1])
