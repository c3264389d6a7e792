"""``GlobalAveragePooling``: average every feature map to one number per channel.

``(N, C, H, W) -> (N, C)`` (``dim=2``; ``dim=1`` pools ``(N, C, L)``, ``dim=3``
``(N, C, D, H, W)``). A tuple of stage
outputs gives a tuple of pooled features. The result is reshaped with ``view(N, -1)``, not
``squeeze``, so a batch of one keeps its batch axis.
"""
from minicls import nn
from minicls.registry import MODELS

__all__ = ['GlobalAveragePooling']


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Args: dim (int): 1, 2 or 3, the number of spatial dims to pool. Default 2."""

    def __init__(self, dim=2):
        super().__init__()
        assert dim in (1, 2, 3), 'GlobalAveragePooling dim only support ' \
            f'{1, 2, 3}, get {dim} instead.'
        if dim == 1:
            self.gap = nn.AdaptiveAvgPool1d(1)
        elif dim == 2:
            self.gap = nn.AdaptiveAvgPool2d((1, 1))
        else:
            self.gap = nn.AdaptiveAvgPool3d((1, 1, 1))

    def init_weights(self):
        pass

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self.gap(x).view(x.size(0), -1) for x in inputs)
        if hasattr(inputs, 'grad_fn'):  # a Tensor
            return self.gap(inputs).view(inputs.size(0), -1)
        raise TypeError('neck inputs should be tuple or torch.tensor')
