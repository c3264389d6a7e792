"""The ``.pth`` reader moved to :mod:`minicls.io.torch_weights`; this name still works."""
from minicls.io.torch_weights import load_pth, load_pth_state_dict, torchvision_to_mmpretrain

__all__ = ['load_pth', 'load_pth_state_dict', 'torchvision_to_mmpretrain']
