"""``minicls.evaluation``: metrics (``METRICS``)."""
from .metrics import Accuracy

__all__ = ['Accuracy']
