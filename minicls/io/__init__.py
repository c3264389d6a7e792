"""Files in and out: checkpoints (``.npz``, no pickle, written atomically), downloads (checked,
atomic), the pretrained-weights cache, and weight files.

``load_weights(path_or_url)`` is the one function that turns a weight file -- a minicls
checkpoint, a PyTorch ``.pth``, an ``http(s)://`` URL, ``torchvision://resnet50`` -- into a
state dict; ``load_from`` and ``init_cfg=dict(type='Pretrained')`` both use it.
"""
from .checkpoint import (CheckpointError, atomic_write, load_checkpoint, load_state_dict,
                         save_checkpoint)
from .download import DownloadError, download_url, download_url_to_file
from .hub import cached_download, get_dir, is_url, resolve_url
from .torch_weights import load_pth, load_pth_state_dict, torchvision_to_mmpretrain
from .weights import is_torch_file, load_weights

__all__ = ['CheckpointError', 'atomic_write', 'load_checkpoint', 'load_state_dict',
           'save_checkpoint', 'DownloadError', 'download_url', 'download_url_to_file', 'cached_download',
           'get_dir', 'is_url', 'resolve_url', 'load_pth', 'load_pth_state_dict',
           'torchvision_to_mmpretrain', 'is_torch_file', 'load_weights']
