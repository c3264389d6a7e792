"""Classifiers: whole models (preprocessor + backbone + neck + head)."""
from .image import ImageClassifier

__all__ = ['ImageClassifier']
