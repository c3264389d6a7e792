"""Heads: features -> class scores, plus their loss and predictions."""
from .cls_head import ClsHead
from .linear_head import LinearClsHead
from .vit_head import VisionTransformerClsHead

__all__ = ['ClsHead', 'LinearClsHead', 'VisionTransformerClsHead']
