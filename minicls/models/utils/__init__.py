"""Model helpers: the data preprocessor, batch augments, DropPath, and a .pth reader."""
from minicls.io.torch_weights import load_pth, load_pth_state_dict, torchvision_to_mmpretrain

from .averaged_model import ExponentialMovingAverage
from .batch_augments import BATCH_AUGMENTS, CutMix, Mixup, RandomBatchAugment
from .data_preprocessor import ClsDataPreprocessor
from .drop_path import DropPath, drop_path

__all__ = ['ExponentialMovingAverage', 'ClsDataPreprocessor', 'Mixup', 'CutMix', 'RandomBatchAugment', 'BATCH_AUGMENTS',
           'DropPath', 'drop_path', 'load_pth', 'load_pth_state_dict',
           'torchvision_to_mmpretrain']
