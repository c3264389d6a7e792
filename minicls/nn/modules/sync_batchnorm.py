"""``SyncBatchNorm``: batch norm whose statistics are those of the whole batch, over all ranks.

In data-parallel training each rank sees only its share of the batch (B/N images). Plain batch
norm would normalise with the statistics of that share: a different mean and variance on every
rank, and not those one process with the whole batch of B would use. SyncBatchNorm sums the
per-channel statistics over the ranks first, so every rank normalises with the statistics of
all B images, and training gives what one process with the whole batch gives.
In one process (no ``minicls.distributed`` group) it is exactly ``BatchNorm``.
"""
import numpy as np

from ... import distributed as dist
from ...autograd.function import Function
from ...backend import get_array_module
from ..functional.normalization import _affine
from .batchnorm import _BatchNorm


class SyncBatchNormFunction(Function):
    """Batch norm of ``x`` (N, C, *S) with statistics summed over every rank.

    forward, with m_r = this rank's elements per channel and M = sum of m_r over the ranks::

        mean = all_reduce(sum x) / M
        var  = all_reduce(sum (x - mean)^2) / M            (biased; two all-reduces of (C,),
        y    = (x - mean) / sqrt(var + eps) * w + b         so no cancellation as E[x^2]-mean^2)
        running = (1 - momentum) * running + momentum * stat   (var unbiased: * M / (M - 1))

    backward, with xhat = (x - mean) * inv_std, dy this rank's output gradient::

        s1 = all_reduce(sum dy),  s2 = all_reduce(sum dy * xhat)      (one all-reduce of (2, C))
        dx = w * inv_std * (dy - s1 / M - xhat * s2 / M)
        dw = sum dy * xhat,  db = sum dy                 (this rank's: DDP averages them later)

    Shapes: x and y (N, C, *S); w, b, the statistics and s1, s2 (C,).
    """
    tested_in = ('tests/test_nn/test_sync_batchnorm.py (gradcheck and PyTorch parity through '
                 'the module; tests/test_distributed/test_ddp.py on two ranks)')

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, momentum=0.1,
                eps=1e-5):
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        count = np.array([float(x3.shape[0] * x3.shape[2])])
        mean = dist.all_reduce(xp.einsum('ncl->c', x3))
        total = float(dist.all_reduce(count)[0])
        mean /= total
        xc = x3 - mean[:, None]
        var = dist.all_reduce(xp.einsum('ncl,ncl->c', xc, xc)) / total
        inv_std = 1 / xp.sqrt(var + eps)
        xhat = xc * inv_std[:, None]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += (momentum * total / max(total - 1, 1)) * var
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.total, ctx.shape = total, x.shape
        return (xhat * weight[:, None] + bias[:, None]).reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = get_array_module(gy)
        xhat, inv_std, weight = ctx.saved_tensors
        g3 = gy.reshape(xhat.shape)
        local = xp.stack([xp.einsum('ncl->c', g3), xp.einsum('ncl,ncl->c', g3, xhat)])
        sums = dist.all_reduce(local.copy()) / ctx.total
        gx = (weight * inv_std)[:, None] * (g3 - sums[0][:, None] - xhat * sums[1][:, None])
        return gx.reshape(ctx.shape), local[1], local[0]


class SyncBatchNorm(_BatchNorm):
    """Batch norm over all ranks' samples (``torch.nn.SyncBatchNorm``); registered as mmcv's
    ``'SyncBN'`` for ``norm_cfg``. Evaluation uses the running statistics, as ``BatchNorm``.
    Inputs (N, C, *S) of any rank >= 2.

    Args: see ``_NormBase`` (``num_features``, ``eps``, ``momentum``, ``affine``...); the ranks
    are those of ``minicls.distributed`` (one process: plain batch norm)."""

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f'SyncBatchNorm expected 2D or more input (N, C, ...), but got '
                             f'{input.ndim}D input of shape {tuple(input.shape)}')

    def forward(self, input):  # noqa: A002
        if not (self.training and self.track_running_stats) and self.running_mean is not None:
            return super().forward(input)  # evaluation: nothing to synchronise
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(f'{self!r} expected input with {self.num_features} channels '
                               f'(dim 1), but got input of shape {tuple(input.shape)}.')
        factor = self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        weight, bias = _affine(input, self.weight, self.bias, (self.num_features, ))
        mean, var = self.running_mean, self.running_var
        return SyncBatchNormFunction.apply(
            input, weight, bias, running_mean=None if mean is None else mean.data,
            running_var=None if var is None else var.data, momentum=factor, eps=self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module):
        """``module`` with every ``BatchNorm*d`` replaced by a SyncBatchNorm holding the same
        parameters and running statistics (as ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats)
            for name in ('weight', 'bias'):
                sync._parameters[name] = module._parameters.get(name)
            for name in ('running_mean', 'running_var', 'num_batches_tracked'):
                sync._buffers[name] = module._buffers.get(name)
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child)
        return module


__all__ = ['SyncBatchNorm', 'SyncBatchNormFunction']
