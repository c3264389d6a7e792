"""``LookaheadHook``: average the weights every few steps and train on from the average.

An EMA (:class:`EMAHook`) keeps a smoothed copy of the weights beside the network and only
tests it; training itself never sees it. A *lookahead* (Zhang et al. 2019, "Lookahead
Optimizer: k steps forward, 1 step back") puts the average back: every ``interval`` steps

    slow = rho * slow + (1 - rho) * fast        (slow: the average, fast: the network)
    fast = slow                                  (the network restarts from the average)

so the optimizer explores for a few steps and is then pulled back towards where it has been,
which damps the noise of large learning rates. The fast CIFAR-10 records use it with a decay
that grows over training, ``rho = decay ** interval * (t / T) ** power`` at step ``t`` of
``T``: close to 0 early (a plain copy, the network moves freely), up to ``0.95 ** 5 = 0.77`` at
the end (a strong average). It starts in epoch ``begin_epoch`` and copies the average into the
network once more at the end of each epoch, so what is validated and saved is the average.
BN running statistics are averaged too (``update_buffers``), like every float in the state.

    custom_hooks = [dict(type='LookaheadHook', interval=5, decay=0.95, power=3,
                         begin_epoch=3)]

Explained in tutorials/13_training_fast.md.
"""
from minicls.backend import get_array_module
from minicls.config.errors import check_number
from minicls.nn.parallel import unwrap
from minicls.registry import HOOKS

from .hook import Hook

__all__ = ['LookaheadHook']


@HOOKS.register_module()
class LookaheadHook(Hook):
    """Args:
        interval (int): training steps between two averagings (``k``). Defaults to 5.
        decay (float): the per-step decay at the end of training; one averaging uses
            ``decay ** interval``, scaled by the schedule below. Defaults to 0.95.
        power (float): ``rho`` grows as ``(t / T) ** power`` over the ``T`` steps of the run.
            0 keeps it constant. Defaults to 3.
        begin_epoch (int): the epoch (counted from 0) in which the averaging starts; the
            first averaging step of the run takes a copy. Defaults to 0.
        update_buffers (bool): also average float buffers (BN running statistics).
            Defaults to True.

    The average is saved in checkpoints (``lookahead_state``) so that a resumed run goes on
    with it.
    """

    priority = 'HIGH'   # the copy at the end of an epoch comes before PreciseBN and the save

    def __init__(self, interval=5, decay=0.95, power=3.0, begin_epoch=0, update_buffers=True):
        self.interval = check_number(interval, 'LookaheadHook: interval', low=1)
        self.decay = check_number(decay, 'LookaheadHook: decay', float, low=0, high=1)
        self.power = check_number(power, 'LookaheadHook: power', float, low=0)
        self.begin_epoch = check_number(begin_epoch, 'LookaheadHook: begin_epoch', low=0)
        self.update_buffers = bool(update_buffers)
        self.slow = None      # name -> array, the average; None until the first averaging

    def _fast(self, runner):
        """name -> the network's own float array: the parameters and, with ``update_buffers``,
        the buffers a checkpoint saves (BN statistics; not the preprocessor's mean)."""
        model = unwrap(runner.model)
        state = model.state_dict(keep_vars=True)     # the live Tensors, not copies
        if not self.update_buffers:
            params = dict(model.named_parameters())
            state = {n: t for n, t in state.items() if n in params}
        return {n: t.data for n, t in state.items() if t.data.dtype.kind == 'f'}

    def rho(self, step, total):
        """The decay of the averaging after training step ``step`` (1-based) of ``total``."""
        return self.decay ** self.interval * (step / total) ** self.power

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        step = runner.iter + 1
        if runner.epoch < self.begin_epoch or step % self.interval:
            return
        fast = self._fast(runner)
        if self.slow is None:
            self.slow = {n: a.copy() for n, a in fast.items()}
            runner.logger.info(f'LookaheadHook: averaging from step {step} (epoch '
                               f'{runner.epoch + 1}) every {self.interval} steps')
            return
        rho = self.rho(step, runner.max_iters)
        for name, array in fast.items():
            slow = self.slow[name]
            slow *= rho
            slow += (1 - rho) * array
            array[...] = slow

    def after_train_epoch(self, runner):
        if self.slow is not None:     # the steps since the last averaging are dropped
            for name, array in self._fast(runner).items():
                array[...] = self.slow[name]

    def before_save_checkpoint(self, runner, checkpoint):
        if self.slow is not None:
            checkpoint['lookahead_state'] = dict(self.slow)

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('lookahead_state')
        if state is None:
            self.slow = None
            return
        fast = self._fast(runner)
        if set(state) != set(fast):
            raise ValueError("LookaheadHook: the checkpoint's lookahead_state does not match the "
                             f'model ({len(state)} arrays, the model has {len(fast)})')
        self.slow = {n: fast[n].copy() for n in fast}
        for name, array in self.slow.items():
            array[...] = get_array_module(array).asarray(state[name])
