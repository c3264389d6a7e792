"""``Accuracy``: the percentage of samples whose true class is among the top-k scores.

For scores ``s`` (N, C) and labels ``y`` (N,): sample n is a top-k hit when ``y_n`` is one of
the k classes with the largest scores (and, with a threshold ``thr``, its score is strictly
greater than ``thr``). ``accuracy = 100 * hits / N``. Results are named ``accuracy/top1``,
``accuracy/top5``...
"""
from collections.abc import Sequence

import numpy as np

import minicls
from minicls.backend import get_array_module, to_numpy
from minicls.registry import METRICS

__all__ = ['Accuracy']


def _to_numpy(x):
    """A Tensor, an array (NumPy or CuPy) or a sequence (of numbers or Tensors) as a NumPy
    array; anything else is a TypeError, as mmpretrain's ``to_tensor``."""
    if isinstance(x, minicls.Tensor):
        return x.numpy()
    if isinstance(x, get_array_module(x).ndarray):
        return to_numpy(x)
    if not isinstance(x, Sequence) or isinstance(x, str):
        raise TypeError(f'{type(x)} is not an available argument: give a Tensor, a '
                        'numpy.ndarray or a sequence (list/tuple) of labels or scores')
    if x and isinstance(x[0], minicls.Tensor):
        return np.stack([t.numpy() for t in x])
    return np.asarray(x)


@METRICS.register_module()
class Accuracy:
    """Args:
        topk (int | tuple[int]): the k's. Default (1,).
        thrs (float | tuple[float | None]): score thresholds; None means no threshold.
        collect_device (str): kept for mmpretrain compatibility (single process here).
        prefix (str, optional): the name prefix; default ``'accuracy'``.

    Use: ``process(data_batch, outputs)`` for every batch (``data_batch['gt_label']``,
    ``outputs`` the model's 'predict' dict), then ``evaluate()`` (which also resets).
    """

    default_prefix = 'accuracy'

    def __init__(self, topk=(1, ), thrs=0., collect_device='cpu', prefix=None):
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        self.thrs = (thrs, ) if isinstance(thrs, float) or thrs is None else tuple(thrs)
        self.collect_device = collect_device
        self.prefix = prefix or self.default_prefix
        self.results = []

    def process(self, data_batch, outputs):
        """Keep each sample's scores (or predicted label) and its true label."""
        labels = _to_numpy(data_batch['gt_label']).reshape(-1)
        if 'pred_score' in outputs and outputs['pred_score'] is not None:
            preds = _to_numpy(outputs['pred_score'])
            key = 'pred_score'
        else:
            preds = _to_numpy(outputs['pred_label']).reshape(-1)
            key = 'pred_label'
        if len(preds) != len(labels):
            raise ValueError(f'{len(preds)} predictions but {len(labels)} labels in the batch')
        for pred, label in zip(preds, labels):
            self.results.append({key: pred, 'gt_label': label})

    def compute_metrics(self, results):
        target = np.array([r['gt_label'] for r in results])
        metrics = {}
        if 'pred_score' in results[0]:
            pred = np.stack([r['pred_score'] for r in results])
            try:
                acc = self.calculate(pred, target, self.topk, self.thrs)
            except ValueError as e:  # an invalid top-k: it comes from the config
                raise ValueError(str(e) + ' Please check the `val_evaluator` and '
                                 '`test_evaluator` fields in your config file.') from e
            multi_thrs = len(self.thrs) > 1
            for i, k in enumerate(self.topk):
                for j, thr in enumerate(self.thrs):
                    name = f'top{k}'
                    if multi_thrs:
                        name += '_no-thr' if thr is None else f'_thr-{thr:.2f}'
                    metrics[name] = acc[i][j].item()
        else:
            pred = np.array([r['pred_label'] for r in results])
            metrics['top1'] = self.calculate(pred, target, self.topk, self.thrs).item()
        return metrics

    def evaluate(self, size=None):
        """``{'accuracy/top1': %, ...}`` over everything processed since the last call."""
        if not self.results:
            raise ValueError(f'{type(self).__name__} got no results: call process() for each '
                             'batch before evaluate()')
        metrics = self.compute_metrics(self.results)
        self.results = []
        return {f'{self.prefix}/{k}': v for k, v in metrics.items()}

    @staticmethod
    def calculate(pred, target, topk=(1, ), thrs=(0., )):
        """Accuracy in percent.

        ``pred`` labels (N,) -> a 1-element Tensor. ``pred`` scores (N, C) -> a list (per k)
        of lists (per threshold) of 1-element Tensors.
        """
        pred, target = _to_numpy(pred), _to_numpy(target).astype(np.int64).reshape(-1)
        num = pred.shape[0]
        assert num == target.shape[0], f"The size of pred ({num}) doesn't match the target " \
            f'({target.shape[0]}).'
        if pred.ndim == 1:
            correct = (pred.astype(np.int64) == target).sum()
            return minicls.tensor([correct * 100. / num])
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        thrs = (thrs, ) if isinstance(thrs, float) or thrs is None else tuple(thrs)
        maxk = max(topk)
        if maxk > pred.shape[1]:
            raise ValueError(f'Top-{maxk} accuracy is unavailable since the number of '
                             f'categories is {pred.shape[1]}.')
        # the maxk best classes per sample, best first (stable: ties keep the lower index)
        pred_label = np.argsort(-pred, axis=1, kind='stable')[:, :maxk].T     # (maxk, N)
        pred_score = np.take_along_axis(pred, pred_label.T, axis=1).T          # (maxk, N)
        correct = pred_label == target[None, :]
        results = []
        for k in topk:
            results.append([])
            for thr in thrs:
                hits = correct if thr is None else correct & (pred_score > thr)
                results[-1].append(minicls.tensor([hits[:k].sum() * 100. / num]))
        return results
