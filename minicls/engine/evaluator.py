"""``Evaluator``: the metrics of ``val_evaluator`` / ``test_evaluator`` (mmengine's ``Evaluator``).

With several ranks each rank processed its shard of the data; ``evaluate`` first gathers
every rank's per-sample results back into the data set's order (``engine/distributed.py``),
so every rank computes the metric over the whole data set, once per sample.
"""
import copy

import numpy as np

from minicls.registry import METRICS

from .distributed import gather_metric

__all__ = ['Evaluator']


class Evaluator:
    """One or more metrics (``val_evaluator`` may be a dict or a list of dicts)."""

    def __init__(self, cfg):
        cfgs = cfg if isinstance(cfg, (list, tuple)) else [cfg]
        self.metrics = [c if hasattr(c, 'process') else METRICS.build(_to_dict(c)) for c in cfgs]

    def process(self, data_batch, outputs):
        for metric in self.metrics:
            metric.process(data_batch, outputs)

    def evaluate(self, size):
        """The metrics over everything processed (``size``: samples in the data set)."""
        results = {}
        for metric in self.metrics:
            gather_metric(metric, size)  # several ranks: every rank's results, in order
            results.update(metric.evaluate())
        return {k: float(v) if np.ndim(v) == 0 else v for k, v in results.items()}


def _to_dict(value):
    return value.to_dict() if hasattr(value, 'to_dict') else copy.deepcopy(value)
