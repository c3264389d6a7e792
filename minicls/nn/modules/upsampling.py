"""``Upsample``: ``F.interpolate`` as a layer (no parameters)."""
from .. import functional as F
from .module import Module


class Upsample(Module):
    """Resize the spatial axes of (N, C, *spatial) inputs, as ``torch.nn.Upsample``.

    Args:
        size (int or tuple, optional): The output's spatial size. Give this or
            ``scale_factor``.
        scale_factor (float or tuple, optional): Output size = floor(input size * factor).
        mode (str): 'nearest' (default), 'nearest-exact', 'linear', 'bilinear', 'bicubic' or
            'trilinear' (see ``F.interpolate``).
        align_corners (bool, optional): Linear and cubic modes only. Default: None (False).
        recompute_scale_factor (bool, optional): See ``F.interpolate``. Default: None.
    """

    def __init__(self, size=None, scale_factor=None, mode='nearest', align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, int) else scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = (f'size={self.size!r}' if self.scale_factor is None
                else f'scale_factor={self.scale_factor!r}')
        return info + f', mode={self.mode!r}'
