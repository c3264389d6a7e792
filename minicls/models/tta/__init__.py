"""Test-time augmentation: predict on several views of each image and average the scores."""
from .score_tta import AverageClsScoreTTA

__all__ = ['AverageClsScoreTTA']
