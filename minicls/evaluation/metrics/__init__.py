"""Metrics (registered in ``METRICS``)."""
from .single_label import Accuracy

__all__ = ['Accuracy']
