"""``FastCifarNet``: the small VGG-like network of the fast CIFAR-10 training records.

The shape follows the public fast-training records (airbench94, arXiv 2404.00498, which reach
94% with it in ten epochs on the original images; on the JPEG-compressed CIFAR-10 of minicls's
measurements both the record's procedure and minicls's recipe give about 90.5%, see the
README)::

    whiten: conv 2x2 (3 -> 24 channels, no padding), fixed weights, GELU  32x32 -> 31x31
    3 groups, widths 64 / 256 / 256, each:
        conv 3x3 -> max-pool 2 -> BN -> GELU -> conv 3x3 -> BN -> GELU  31 -> 15 -> 7 -> 3
    max-pool 3 (3x3 -> 1x1), features scaled by ``out_scale`` (1/9)

About 0.12 GMAC per image and 1.97 M parameters; no residual connections. The first layer is
a *whitening* conv: its weights are computed from the training images (the eigenvectors of
the covariance of 2x2 patches, see :class:`~minicls.engine.hooks.WhiteningInitHook`) and not
trained, so the network starts from decorrelated inputs. The backbone itself knows nothing of
the data: until the hook sets them, the whitening weights are random.

Explained in tutorials/13_training_fast.md.
"""
from minicls import nn
from minicls.cnn import build_activation_layer, build_norm_layer
from minicls.registry import MODELS

from ..base_module import BaseModule

__all__ = ['FastCifarNet']


def dirac_(weight):
    """In place, on a ``(C_out, C_in, k, k)`` array: filter ``i < min(C_out, C_in)`` becomes
    1 at the centre of input channel ``i`` and 0 elsewhere (``torch.nn.init.dirac_`` applied to
    those filters); the other filters keep their values."""
    n = min(weight.shape[0], weight.shape[1])
    kh, kw = weight.shape[2] // 2, weight.shape[3] // 2
    weight[:n] = 0
    weight[range(n), range(n), kh, kw] = 1


class ConvGroup(nn.Module):
    """``conv 3x3 -> max-pool 2 -> BN -> act -> (conv 3x3 -> BN -> act) x (depth - 1)``."""

    def __init__(self, in_channels, out_channels, depth, norm_cfg, act_cfg, norm_weight):
        super().__init__()
        layers = []
        for i in range(depth):
            layers.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3,
                                    padding=1, bias=False))
            if i == 0:
                layers.append(nn.MaxPool2d(2))
            norm = build_norm_layer(norm_cfg, out_channels)[1]
            if not norm_weight:   # the scale stays 1: only the shift (bias) is learnt
                norm.weight.requires_grad = False
            layers += [norm, build_activation_layer(act_cfg)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


@MODELS.register_module()
class FastCifarNet(BaseModule):
    """A whitening conv and activation, then groups of conv-pool-BN-activation, then a
    max-pool.

    Args:
        in_channels (int): input channels. Defaults to 3.
        whiten_channels (int): output channels of the whitening conv; the hook fills them with
            the ``k*k*in_channels`` whitening filters and their negatives, so it must be twice
            that (24 for 2x2 patches of RGB). Defaults to 24.
        whiten_kernel (int): kernel size of the whitening conv. Defaults to 2.
        widths (Sequence[int]): output channels of each group. Defaults to (64, 256, 256).
        depths (int | Sequence[int]): 3x3 convs per group (one int for all). Defaults to 2.
        norm_cfg (dict): the norm layers, e.g. ``dict(type='BN', momentum=0.4, eps=1e-12)``
            (PyTorch's momentum convention). Defaults to ``dict(type='BN')``.
        norm_weight (bool): train the norm layers' scale; False keeps it at 1 (only the bias
            is learnt). Defaults to False.
        act_cfg (dict): the activation. Defaults to ``dict(type='GELU')``.
        out_scale (float): the pooled features are multiplied by it: with a linear head it is a
            temperature on the logits. Defaults to 1/9.
        dirac_init (bool): after the usual init, make the first ``in_channels`` filters of every
            3x3 conv the identity (filter ``i`` passes input channel ``i`` through), so that at
            the start each group also lets its input through. Defaults to True.
        init_cfg (dict | list, optional): initialisation config.

    Returns a tuple with one ``(N, widths[-1], 1, 1)`` feature map.
    """

    def __init__(self, in_channels=3, whiten_channels=24, whiten_kernel=2,
                 widths=(64, 256, 256), depths=2, norm_cfg=dict(type='BN'), norm_weight=False,
                 act_cfg=dict(type='GELU'), out_scale=1 / 9, dirac_init=True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        widths = tuple(int(w) for w in widths)
        depths = (int(depths),) * len(widths) if isinstance(depths, int) else tuple(depths)
        if not widths or len(depths) != len(widths) or min(depths) < 1:
            raise ValueError(f'FastCifarNet needs one depth >= 1 per width, got widths={widths} '
                             f'depths={depths}')
        patch_dim = whiten_kernel * whiten_kernel * in_channels
        if whiten_channels != 2 * patch_dim:
            raise ValueError(f'whiten_channels must be 2 * {whiten_kernel}*{whiten_kernel}*'
                             f'{in_channels} = {2 * patch_dim} (the whitening filters and their '
                             f'negatives), got {whiten_channels}')
        self.widths, self.depths, self.out_scale = widths, depths, out_scale
        self.dirac_init = dirac_init
        self.whiten = nn.Conv2d(in_channels, whiten_channels, whiten_kernel, bias=True)
        self.whiten.weight.requires_grad = False   # set from the data, never trained
        self.whiten_act = build_activation_layer(act_cfg)
        groups, prev = [], whiten_channels
        for width, depth in zip(widths, depths):
            groups.append(ConvGroup(prev, width, depth, norm_cfg, act_cfg, norm_weight))
            prev = width
        self.groups = nn.Sequential(*groups)

    def init_weights(self):
        super().init_weights()
        if self.dirac_init:
            for module in self.groups.modules():
                if isinstance(module, nn.Conv2d):
                    dirac_(module.weight.data)

    def forward(self, x):
        x = self.groups(self.whiten_act(self.whiten(x)))
        x = x.amax(dim=(2, 3), keepdim=True)   # global max-pool (3x3 -> 1x1 on CIFAR)
        return (x * self.out_scale, )
