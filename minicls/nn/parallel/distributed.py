"""``DistributedDataParallel``: the same model on every rank, trained on different data.

Each rank computes the gradients of its own share of the batch; averaging them over the ranks
gives the gradient of the whole batch (the loss is a mean over samples, so the mean of the
ranks' mean-gradients is the mean over all samples, when the shares are equal). Every rank then
takes the same optimizer step from the same parameters, so the copies never drift apart::

    model = DistributedDataParallel(model)   # rank 0's parameters and buffers to every rank
    loss = criterion(model(x), y)            # x: this rank's share
    loss.backward()                          # .grad = the average over ranks, when it returns
    optimizer.step()

The averaging runs when ``backward`` has finished (``minicls.autograd.engine.
call_after_backward``). The gradients are copied into a few flat buffers ("buckets" of at most
``bucket_cap_mb``), because one all-reduce of 25 MB costs much less than a hundred small ones
(each message pays MPI's latency). All buckets' all-reduces are started (``Iallreduce``)
before the first is waited for. PyTorch goes further and starts each bucket during backward,
as soon as its gradients exist; here that would save little: for ResNet_CIFAR-18 (42.6 MB of
gradients, 2 ranks on one machine) the averaging takes 60 ms of a 4.5 s step (65 ms as one
bucket, 36 ms for the bare MPI all-reduce).

Every rank must have the same parameters with a gradient (no ``find_unused_parameters``).
"""
import contextlib

from ... import distributed as dist
from ...autograd.engine import call_after_backward
from ...autograd.grad_mode import is_grad_enabled
from ...backend import get_array_module
from ..modules.module import Module

__all__ = ['DistributedDataParallel']


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Args:
        module (Module): the model; ``ddp.module`` is it, and attributes the wrapper lacks are
            looked up there (``ddp.data_preprocessor``), as mmengine's wrapper allows.
        bucket_cap_mb (float): the largest flat gradient buffer sent in one all-reduce.
        broadcast_buffers (bool): copy rank 0's buffers (BN running statistics) to every rank
            before each forward in training, so that all ranks evaluate alike.
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True):
        super().__init__()
        self.module = module
        self.bucket_cap_mb = bucket_cap_mb
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._sync_queued = False
        for tensor in self._states():  # every rank starts from rank 0's weights
            dist.broadcast(tensor, src=0)

    def _states(self):
        return [p for p in self.module.parameters()] + [
            b for b in self.module.buffers() if b is not None]

    def __getattr__(self, name):  # Module's own lookup failed: ask the wrapped model
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('module'), name)

    def forward(self, *args, **kwargs):
        if self.training and is_grad_enabled():
            if self.broadcast_buffers:
                for buffer in self.module.buffers():
                    if buffer is not None:
                        dist.broadcast(buffer, src=0)
            if self.require_backward_grad_sync and not self._sync_queued:
                self._sync_queued = True
                call_after_backward(self._average_gradients)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside keep their gradients local (they add up in ``.grad``); the
        first backward after it averages the sum, e.g. for gradient accumulation."""
        old, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _buckets(self, params):
        """``params`` cut into runs of at most ``bucket_cap_mb`` of gradient (same dtype)."""
        cap = self.bucket_cap_mb * 2 ** 20
        buckets, size = [], 0
        for p in params:
            if not buckets or (size and size + p.grad.data.nbytes > cap) or \
                    p.grad.data.dtype != buckets[-1][0].grad.data.dtype:
                buckets.append([])
                size = 0
            buckets[-1].append(p)
            size += p.grad.data.nbytes
        return buckets

    def _average_gradients(self):
        """Replace every ``.grad`` by its average over the ranks, one all-reduce per bucket."""
        self._sync_queued = False
        world = dist.get_world_size()
        if world == 1:
            return
        params = [p for p in self.module.parameters() if p.requires_grad and p.grad is not None]
        pending = []
        for bucket in self._buckets(params):  # start every bucket's all-reduce...
            xp = get_array_module(bucket[0].grad.data)
            flat = xp.concatenate([p.grad.data.ravel() for p in bucket])
            pending.append((bucket, flat, dist.all_reduce_async(flat)))
        for bucket, flat, work in pending:  # ...then wait for them in turn
            work.wait()
            flat /= world
            start = 0
            for p in bucket:
                n = p.grad.data.size
                p.grad.data[...] = flat[start:start + n].reshape(p.grad.data.shape)
                start += n


def unwrap(model):
    """The model inside a :class:`DistributedDataParallel` wrapper, or ``model`` itself (hooks,
    checkpoints and optimizers work on the bare model: its names have no ``module.``)."""
    return model.module if isinstance(model, DistributedDataParallel) else model
