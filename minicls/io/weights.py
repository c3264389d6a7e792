"""Read the weights in a file, whatever wrote it: the one place both the engine (``load_from``)
and the models (``init_cfg=dict(type='Pretrained')``) read weight files through.

* a PyTorch file (``torch.save``: a zip with a ``<name>/data.pkl`` entry, or any ``.pth``/``.pt``
  file) is read by :mod:`minicls.io.torch_weights`, without torch and without running its
  pickle;
* anything else is a minicls checkpoint (``.npz``), read by
  :func:`minicls.io.checkpoint.load_checkpoint`;
* a URL or ``torchvision://``/``open-mmlab://`` name is first downloaded into the cache
  (:mod:`minicls.io.hub`).
"""
import zipfile

from .checkpoint import load_checkpoint
from .hub import cached_download, is_url
from .torch_weights import load_pth_state_dict

__all__ = ['is_torch_file', 'load_weights']


def is_torch_file(path):
    """True for a file written by ``torch.save``: a zip archive holding ``<name>/data.pkl``.
    A ``.pth``/``.pt`` file that is not one counts too, so its reader says what is wrong."""
    if str(path).endswith(('.pth', '.pt')):
        return True
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith('/data.pkl') and n.count('/') == 1 for n in archive.namelist())


def load_weights(source, convert='auto', progress=True):
    """The model weights (name -> NumPy array) in ``source``.

    Args:
        source (str | os.PathLike | dict): a minicls checkpoint, a ``.pth`` file, an
            ``http(s)://`` URL or a ``torchvision://``/``open-mmlab://`` name (downloaded once,
            see :mod:`minicls.io.hub`), or a dict that is already a state dict.
        convert (str | bool): for PyTorch files, whether to rename torchvision's keys to
            mmpretrain's (``'auto'``: when no key starts with ``backbone.``/``neck.``/``head.``).
        progress (bool): show a progress bar while downloading.

    A checkpoint's ``state_dict`` entry is used when there is one, and a ``module.`` prefix
    (from DataParallel) is removed.
    """
    if isinstance(source, dict):
        state = source
    else:
        if is_url(source):
            source = cached_download(source, progress=progress)
        if is_torch_file(source):
            state = load_pth_state_dict(source, convert=convert)
        else:
            state = load_checkpoint(source)
    if isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
