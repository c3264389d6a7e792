"""``WhiteningInitHook``: set a conv layer to whiten the training images' patches.

Neighbouring pixels and the three colour channels are strongly correlated, so the first layer of
a network spends its early training learning to decorrelate them. That can be computed instead:
take every ``k x k`` patch of some training images as a vector ``v`` of ``D = k*k*C`` numbers,
form their (uncentred) covariance ``S = mean(v v^T)``, and diagonalise it,
``S = U diag(lambda) U^T``. The ``D`` filters ``w_i = u_i / sqrt(lambda_i + eps)`` map a patch to
``D`` numbers with covariance ``I`` (up to ``eps``): the patch is *whitened*. The layer gets these
filters and their negatives (``2 D`` output channels), so that the activation after it (GELU)
keeps both signs. The weights are then frozen (``requires_grad=False`` in the backbone).

The hook runs once, before training, and reads the images through the training pipeline and
the model's data preprocessor, so the layer is fitted to exactly what it will see. The model
never sees the dataset itself.

Explained in tutorials/13_training_fast.md.
"""
import numpy as np

from minicls import distributed as dist
from minicls.backend import to_device, to_numpy
from minicls.config.errors import ConfigError, check_keys, check_number
from minicls.nn.parallel import unwrap
from minicls.registry import HOOKS

from .hook import Hook

__all__ = ['WhiteningInitHook', 'patch_whitening_weight']


def patch_whitening_weight(images, kernel_size=2, eps=5e-4):
    """The ``(2 D, C, k, k)`` whitening filters (then their negatives) of ``images``.

    Args:
        images (np.ndarray): ``(N, C, H, W)`` float images, as the layer will see them.
        kernel_size (int): ``k``, the patch side. eps (float): added to the eigenvalues.
    """
    images = np.asarray(images, dtype=np.float64)
    n, c, h, w = images.shape
    k = int(kernel_size)
    if h < k or w < k:
        raise ValueError(f'images of {h}x{w} pixels have no {k}x{k} patches')
    windows = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(2, 3))
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k)  # (c, kh, kw) order
    cov = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)          # ascending
    order = np.argsort(eigenvalues)[::-1]                    # largest variance first
    eigenvalues = np.maximum(eigenvalues, 0)               # rounding can make 0 slightly < 0
    filters = eigenvectors[:, order].T / np.sqrt(eigenvalues[order] + eps)[:, None]
    filters = filters.reshape(c * k * k, c, k, k)
    return np.concatenate([filters, -filters]).astype(np.float32)


@HOOKS.register_module()
class WhiteningInitHook(Hook):
    """Before training, set ``layer``'s weights to the whitening filters of training patches.

    Args:
        layer (str): the conv's name in the model. Defaults to ``'backbone.whiten'``.
        num_images (int): how many training images (the first ones) to read. Defaults to 5000.
        eps (float): added to the eigenvalues (limits the gain of near-constant directions).
            Defaults to 5e-4.

    Skipped (and logged) when the weights come from a checkpoint (``resume`` or ``load_from``).
    Several ranks: every rank computes the filters, then takes rank 0's.
    """

    priority = 'VERY_HIGH'

    def __init__(self, layer='backbone.whiten', num_images=5000, eps=5e-4):
        self.layer = layer
        self.num_images = check_number(num_images, 'WhiteningInitHook: num_images', low=1)
        self.eps = check_number(eps, 'WhiteningInitHook: eps', float, low=0)

    def before_train(self, runner):
        if runner.iter > 0 or runner.cfg.get('load_from'):
            runner.logger.info(f'WhiteningInitHook: {self.layer} comes from the checkpoint; '
                               'not recomputed')
            return
        model = unwrap(runner.model)   # several ranks: the model inside DDP
        modules = dict(model.named_modules())
        conv = modules.get(self.layer)
        if conv is None or not hasattr(conv, 'weight'):
            convs = [name for name, m in modules.items()   # 4-d weights: the conv layers
                     if len(getattr(getattr(m, 'weight', None), 'shape', ())) == 4]
            check_keys([self.layer], convs, 'WhiteningInitHook: the model', what='conv layer',
                       max_listed=4)
        from minicls.datasets.dataloader import default_collate
        from minicls.datasets.transforms import seed_transforms
        seed_transforms([getattr(runner, 'seed', 0), 2 ** 31])   # random transforms: repeatable
        dataset = runner.train_dataloader.dataset
        count = min(self.num_images, len(dataset))
        batch = default_collate([dataset[i] for i in range(count)])
        images = to_numpy(model.data_preprocessor(batch, training=False)['inputs'].data)
        k = conv.weight.shape[-1]
        weight = patch_whitening_weight(images, k, self.eps)
        if weight.shape != tuple(conv.weight.shape):
            raise ConfigError(f'WhiteningInitHook: {self.layer} has weights of shape '
                              f'{tuple(conv.weight.shape)}, the whitening filters of {k}x{k} '
                              f'patches are {weight.shape}')
        conv.weight.data = to_device(weight, conv.weight.device)
        dist.broadcast(conv.weight, src=0)   # frozen: no gradient all-reduce ever syncs it
        runner.logger.info(f'WhiteningInitHook: {self.layer} set from {count} training images')
