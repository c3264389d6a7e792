"""``DropPath`` (stochastic depth): drop a whole residual branch for some samples.

In training, each sample keeps the branch with probability ``keep = 1 - drop_prob``; kept
branches are divided by ``keep`` so the expected output is unchanged:

    out_n = x_n * mask_n / keep,   mask_n ~ Bernoulli(keep)      (one draw per sample)

In eval mode (or with ``drop_prob == 0``) it is the identity.
"""
import minicls
from minicls import nn
from minicls.backend import to_device
from minicls.registry import MODELS

__all__ = ['drop_path', 'DropPath']


def drop_path(x, drop_prob=0.0, training=False):
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per sample, broadcast over the rest
    mask = (minicls.random.generator().random(shape) < keep_prob).astype(x.dtype)
    return x * minicls.Tensor(to_device(mask / keep_prob, x.device))


@MODELS.register_module()
class DropPath(nn.Module):

    def __init__(self, drop_prob=0.1):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f'drop_prob={self.drop_prob}'
