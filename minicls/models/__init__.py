"""``minicls.models``: mmpretrain's model side (every class registered in ``MODELS``)."""
from .base_module import BaseModule  # noqa: I001 (first: the others build on it)
from . import backbones, classifiers, heads, losses, necks, tta, utils  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .builder import (BACKBONES, CLASSIFIERS, HEADS, LOSSES, NECKS, build_backbone,  # noqa: F401
                      build_classifier, build_head, build_loss, build_neck)
from .classifiers import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .tta import AverageClsScoreTTA  # noqa: F401
from .utils import ClsDataPreprocessor, CutMix, Mixup, RandomBatchAugment  # noqa: F401
