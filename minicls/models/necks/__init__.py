"""Necks: between the backbone and the head (here: global average pooling)."""
from .gap import GlobalAveragePooling

__all__ = ['GlobalAveragePooling']
