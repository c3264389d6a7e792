"""Accuracy metric: top-k percentages, thresholds, label-only predictions, the Top-k error,
process/evaluate with the loader batch and the model's 'predict' dict."""
import numpy as np
import pytest

import minicls
from minicls.evaluation import Accuracy
from minicls.registry import METRICS

SCORES = np.array([[0.7, 0.2, 0.1],    # label 0: top1 hit
                   [0.5, 0.3, 0.2],    # label 1: top2 hit
                   [0.1, 0.6, 0.3],    # label 2: top2 hit
                   [0.2, 0.3, 0.5]],   # label 0: top3 only
                  dtype=np.float32)
LABELS = np.array([0, 1, 2, 0])


def test_calculate_topk_and_thresholds():
    acc = Accuracy.calculate(SCORES, LABELS, topk=(1, 2, 3), thrs=(0., 0.4, None))
    values = [[a.item() for a in row] for row in acc]
    assert values[0] == [25.0, 25.0, 25.0]
    # top-2 with thr 0.4: sample 1's score 0.3 and sample 2's 0.3 are not > 0.4
    assert values[1] == [75.0, 25.0, 75.0]
    assert values[2] == [100.0, 25.0, 100.0]
    labels_only = Accuracy.calculate(np.array([0, 1, 1, 1]), LABELS)
    assert labels_only.item() == pytest.approx(50.0)


def test_topk_larger_than_classes_is_a_clear_error():
    with pytest.raises(ValueError, match='Top-5 accuracy is unavailable since the number of '
                                         'categories is 3.'):
        Accuracy.calculate(SCORES, LABELS, topk=(1, 5))


def test_process_evaluate_and_reset():
    metric = METRICS.build(dict(type='Accuracy', topk=(1, 2)))
    metric.process({'gt_label': LABELS[:2]}, {'pred_score': minicls.tensor(SCORES[:2]),
                                              'pred_label': minicls.tensor([0, 0])})
    metric.process({'gt_label': LABELS[2:]}, {'pred_score': minicls.tensor(SCORES[2:]),
                                              'pred_label': minicls.tensor([1, 2])})
    assert metric.evaluate() == {'accuracy/top1': 25.0, 'accuracy/top2': 75.0}
    with pytest.raises(ValueError, match='no results'):
        metric.evaluate()
    multi = Accuracy(topk=1, thrs=(0.6, None))
    multi.process({'gt_label': LABELS}, {'pred_score': SCORES})
    assert multi.evaluate() == {'accuracy/top1_thr-0.60': 25.0, 'accuracy/top1_no-thr': 25.0}


def test_parity_with_torch_topk():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    scores = rng.random((50, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 50)
    top5 = torch.tensor(scores).topk(5, dim=1).indices.numpy()
    expected = (top5 == labels[:, None]).any(1).mean() * 100
    assert Accuracy.calculate(scores, labels, topk=(5,))[0][0].item() == \
        pytest.approx(expected)


@pytest.mark.parametrize('bad', ['hi', 3, None, {0: 1}])
def test_calculate_refuses_other_types_naming_the_accepted_ones(bad):
    """As mmpretrain's ``to_tensor``: a TypeError, not a ValueError from int('hi')."""
    with pytest.raises(TypeError, match=r'is not an available argument: give a Tensor, a '
                                        r'numpy.ndarray or a sequence'):
        Accuracy.calculate(bad, LABELS)
    with pytest.raises(TypeError, match='is not an available argument'):
        Accuracy.calculate(SCORES, bad)
    assert Accuracy.calculate(list(SCORES), tuple(LABELS))[0][0].item() == 25.0
    assert Accuracy.calculate(list(minicls.tensor(SCORES)), LABELS)[0][0].item() == 25.0


def test_invalid_topk_in_evaluate_points_at_the_evaluator_config():
    metric = Accuracy(topk=(1, 5))
    metric.process({'gt_label': LABELS}, {'pred_score': SCORES})
    with pytest.raises(ValueError, match=r'Top-5 accuracy is unavailable since the number of '
                                         r'categories is 3\. Please check the `val_evaluator` '
                                         r'and `test_evaluator` fields in your config file\.'):
        metric.evaluate()
