"""Model helpers: the data preprocessor, batch augments, DropPath, attention, pos-embed resizing, and a .pth reader."""
from minicls.io.torch_weights import load_pth, load_pth_state_dict, torchvision_to_mmpretrain

from .attention import LayerScale, MultiheadAttention
from .averaged_model import ExponentialMovingAverage
from .batch_augments import BATCH_AUGMENTS, CutMix, Mixup, RandomBatchAugment
from .data_preprocessor import ClsDataPreprocessor
from .drop_path import DropPath, drop_path
from .embed import resize_pos_embed

__all__ = ['ClsDataPreprocessor', 'Mixup', 'CutMix', 'RandomBatchAugment', 'BATCH_AUGMENTS',
           'DropPath', 'drop_path', 'load_pth', 'load_pth_state_dict',
           'torchvision_to_mmpretrain', 'MultiheadAttention', 'LayerScale', 'resize_pos_embed',
           'ExponentialMovingAverage']
