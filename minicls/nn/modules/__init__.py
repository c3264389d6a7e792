"""The layer classes of ``minicls.nn`` (re-exported there)."""
from .activation import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .activation import Hardsigmoid, Hardswish, LeakyReLU, ReLU6, SiLU
from .batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm, _NormBase
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import GroupNorm, LayerNorm
from .upsampling import Upsample
from .attention import MultiheadAttention
from .sync_batchnorm import SyncBatchNorm
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AvgPool2d, MaxPool2d

__all__ = ['Module', 'Sequential', 'ModuleList', 'ModuleDict', 'Identity', 'Linear', 'Conv2d',
           'BatchNorm1d', 'BatchNorm2d', '_BatchNorm', '_NormBase', 'LayerNorm', 'GroupNorm',
           'ReLU', 'Tanh', 'Sigmoid', 'GELU', 'Softmax', 'LogSoftmax', 'Dropout', 'MaxPool2d',
           'AvgPool2d', 'AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'Flatten', 'CrossEntropyLoss',
           'NLLLoss', 'MSELoss', 'L1Loss', 'BCEWithLogitsLoss', 'AdaptiveAvgPool3d', 'SiLU',
           'ReLU6', 'Hardsigmoid', 'Hardswish', 'LeakyReLU', 'Upsample',
           'MultiheadAttention', 'SyncBatchNorm']
