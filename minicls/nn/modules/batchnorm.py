"""``BatchNorm1d`` / ``BatchNorm2d``: normalise each channel over the batch.

Training: ``y = (x - mean_B) / sqrt(var_B + eps) * weight + bias`` with the mean and (biased)
variance of the current batch, per channel; the running statistics move towards the batch
ones: ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance, as
PyTorch). Evaluation: the running statistics replace the batch ones.

Explained in tutorials/06_batchnorm_and_init.md.
"""
from ...creation import ones, tensor, zeros
from ...dtypes import int64
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class _NormBase(Module):
    """Parameters and buffers shared by the batch norms (PyTorch's ``_NormBase``).

    ``weight`` (ones) and ``bias`` (zeros) of shape ``(num_features,)`` when ``affine``
    (``bias=False`` drops the bias only, as PyTorch 2.13); buffers ``running_mean`` (zeros),
    ``running_var`` (ones), ``num_batches_tracked`` (int64 scalar) when
    ``track_running_stats``.

    Args:
        num_features (int): C, the channels of an (N, C, ...) input.
        eps (float): Added to the variance for stability. Default: 1e-5.
        momentum (float, optional): Weight of the batch statistics in the running ones;
            None: a cumulative average. Default: 0.1.
        affine (bool): Learnable ``weight`` and ``bias``. Default: True.
        track_running_stats (bool): Keep running statistics (used in eval mode); without
            them eval mode uses the batch statistics too. Default: True.
        device (str, optional), dtype (optional): Where and in what dtype the parameters
            are created. Default: None, CPU and the default float dtype.
        bias (bool): With ``affine``: False drops the bias only. Default: True.
    """
    _version = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter('weight', None)
        if affine and bias:
            self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter('bias', None)
        if track_running_stats:
            self.register_buffer('running_mean', zeros(num_features, device=device, dtype=dtype))
            self.register_buffer('running_var', ones(num_features, device=device, dtype=dtype))
            self.register_buffer('num_batches_tracked', tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer('running_mean', None)
            self.register_buffer('running_var', None)
            self.register_buffer('num_batches_tracked', None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict, prefix, missing_keys, error_msgs):
        # Checkpoints from before PyTorch 0.4.1 have no num_batches_tracked: keep ours.
        key = prefix + 'num_batches_tracked'
        if self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked.numpy()
        super()._load_from_state_dict(state_dict, prefix, missing_keys, error_msgs)

    def extra_repr(self):
        return (f'{self.num_features}, eps={self.eps}, momentum={self.momentum}, '
                f'affine={self.affine}, bias={self.bias is not None}, '
                f'track_running_stats={self.track_running_stats}')


class _BatchNorm(_NormBase):
    """The forward pass of every BatchNorm; subclasses only check the input's rank.

    ``isinstance(m, _BatchNorm)`` finds all of them (mmcv uses it to name the layer 'bn' and
    to freeze norm layers).
    """

    def forward(self, input):  # noqa: A002
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(f'{self!r} expected input with {self.num_features} channels '
                               f'(dim 1), but got input of shape {tuple(input.shape)}.')
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, or when there are no running ones to use.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            training=use_batch_stats, momentum=factor, eps=self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over ``(N, C)`` or ``(N, C, L)`` inputs (statistics over N [and L]).

    Args: see ``_NormBase`` (``num_features``, ``eps``, ``momentum``, ``affine``...)."""

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f'BatchNorm1d expected 2D or 3D input (N, C) / (N, C, L), but got '
                             f'{input.ndim}D input of shape {tuple(input.shape)}')


class BatchNorm2d(_BatchNorm):
    """Batch norm over ``(N, C, H, W)`` inputs (statistics over N, H and W per channel).

    Args: see ``_NormBase`` (``num_features``, ``eps``, ``momentum``, ``affine``...)."""

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f'BatchNorm2d expected 4D input (N, C, H, W), but got '
                             f'{input.ndim}D input of shape {tuple(input.shape)}')
