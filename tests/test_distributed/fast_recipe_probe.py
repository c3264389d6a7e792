"""Imported by the ranks of tests/test_distributed/test_dist_fast_recipe.py (``custom_imports``):
a hook that writes what each rank holds after its last training epoch."""
import numpy as np

import minicls.distributed as dist
from minicls.autograd import no_grad
from minicls.backend import to_numpy
from minicls.engine.hooks import Hook
from minicls.registry import HOOKS


@HOOKS.register_module()
class RankStateProbeHook(Hook):
    """After the last epoch's ``PreciseBNHook``, write ``OUT/rank<r>.npz``: this rank's weights
    and buffers (``state/<name>``) and the inputs of its first training batch of the epoch, as
    the model sees them (``inputs``).

    Args:
        out (str): the folder OUT.
    """

    priority = 'NORMAL'   # after PreciseBNHook (ABOVE_NORMAL), before CheckpointHook

    def __init__(self, out):
        self.out = out

    def after_train_epoch(self, runner):
        if runner.epoch + 1 != runner.max_epochs:
            return
        model = getattr(runner.model, 'module', runner.model)   # not engine.distributed.unwrap
        loader = runner.train_dataloader
        indices = loader.batch_indices(runner.epoch)[0]
        with no_grad():
            data = model.data_preprocessor(loader.load_batch(runner.epoch, 0, indices),
                                           training=True)
        arrays = {f'state/{k}': to_numpy(v) for k, v in model.state_dict().items()}
        np.savez(f'{self.out}/rank{dist.get_rank()}.npz', inputs=to_numpy(data['inputs'].data),
                 **arrays)
