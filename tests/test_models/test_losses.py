"""Losses: mmpretrain's worked numbers, reductions, class weights (divide by N), soft and
sigmoid CE, label smoothing modes, focal loss, and the registry names."""
import numpy as np
import pytest

import minicls
from minicls.models.losses import (CrossEntropyLoss, FocalLoss, L1Loss, LabelSmoothLoss,
                                   convert_to_one_hot, weight_reduce_loss, weighted_loss)
from minicls.registry import MODELS


def t(values, **kw):
    return minicls.tensor(values, **kw)


@weighted_loss
def l1(pred, target):
    return (pred - target).abs()


def test_weighted_loss_docstring_numbers():
    pred, target, weight = t([0., 2., 3.]), t([1., 1., 1.]), t([1., 0., 1.])
    assert l1(pred, target).item() == pytest.approx(4 / 3, abs=1e-4)
    assert l1(pred, target, weight).item() == pytest.approx(1.0)
    np.testing.assert_allclose(l1(pred, target, reduction='none').numpy(), [1, 1, 2])
    assert l1(pred, target, weight, avg_factor=2).item() == pytest.approx(1.5)
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        l1(pred, target, reduction='sum', avg_factor=2)
    with pytest.raises(ValueError):
        weight_reduce_loss(pred, reduction='average')
    assert weight_reduce_loss(pred, reduction='sum').item() == pytest.approx(5.0)


def test_convert_to_one_hot():
    out = convert_to_one_hot(t([[1], [0], [2]]), 3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(3)[[1, 0, 2]])
    with pytest.raises(AssertionError, match='Class Index must be less'):
        convert_to_one_hot(t([[3]]), 3)


def _logsoftmax(x):
    x = x - x.max(1, keepdims=True)
    return x - np.log(np.exp(x).sum(1, keepdims=True))


SCORE = np.array([[1.0, -0.5, 0.3], [0.2, 2.0, -1.0], [-0.7, 0.1, 0.4], [0.0, 0.5, 0.5]],
                 dtype=np.float32)
LABEL = np.array([0, 1, 2, 1])


def test_softmax_ce_class_weight_divides_by_n():
    cw = [1.0, 2.0, 0.5]
    loss = CrossEntropyLoss(class_weight=cw)(t(SCORE), t(LABEL))
    per = -_logsoftmax(SCORE)[np.arange(4), LABEL] * np.array(cw)[LABEL]
    assert loss.item() == pytest.approx(per.sum() / 4, rel=1e-5)      # not / sum of weights
    assert per.sum() / 4 != pytest.approx(per.sum() / np.array(cw)[LABEL].sum(), rel=1e-3)
    # avg_factor and sample weights
    loss = CrossEntropyLoss()(t(SCORE), t(LABEL), weight=t([1., 0., 1., 1.]), avg_factor=2)
    per = -_logsoftmax(SCORE)[np.arange(4), LABEL]
    assert loss.item() == pytest.approx((per[0] + per[2] + per[3]) / 2, rel=1e-5)
    none = CrossEntropyLoss(loss_weight=2.0)(t(SCORE), t(LABEL), reduction_override='none')
    np.testing.assert_allclose(none.numpy(), 2 * per, rtol=1e-5)


def test_soft_ce_equals_hard_ce_on_one_hot():
    onehot = np.eye(3, dtype=np.float32)[LABEL]
    soft = CrossEntropyLoss(use_soft=True)(t(SCORE), t(onehot))
    hard = CrossEntropyLoss()(t(SCORE), t(LABEL))
    assert soft.item() == pytest.approx(hard.item(), rel=1e-6)
    with pytest.raises(AssertionError):
        CrossEntropyLoss(use_soft=True, use_sigmoid=True)


def test_sigmoid_ce_matches_formula_with_weights():
    target = np.eye(3, dtype=np.float32)[LABEL]
    cw, pw = [1.0, 2.0, 0.5], [3.0, 1.0, 1.0]
    loss = CrossEntropyLoss(use_sigmoid=True, class_weight=cw, pos_weight=pw)(
        t(SCORE), t(target), avg_factor=4)
    s = 1 / (1 + np.exp(-SCORE))
    el = -np.array(cw) * (np.array(pw) * target * np.log(s) + (1 - target) * np.log(1 - s))
    assert loss.item() == pytest.approx(el.sum() / 4, rel=1e-5)           # sum / N
    mean = CrossEntropyLoss(use_sigmoid=True)(t(SCORE), t(target))
    el = -(target * np.log(s) + (1 - target) * np.log(1 - s))
    assert mean.item() == pytest.approx(el.mean(), rel=1e-5)              # mean of N*C


def test_label_smooth_modes():
    log_p = _logsoftmax(SCORE)
    onehot = np.eye(3)[LABEL]
    for mode, eps in [('original', 0.1), ('classy_vision', 0.1 / 1.1)]:
        loss = LabelSmoothLoss(0.1, mode=mode)(t(SCORE), t(LABEL))
        target = onehot * (1 - eps) + eps / 3
        assert loss.item() == pytest.approx(-(target * log_p).sum(1).mean(), rel=1e-5), mode
    loss = LabelSmoothLoss(0.1, mode='multi_label', use_sigmoid=True)(t(SCORE), t(LABEL))
    target = np.where(onehot > 0, 0.9, 0.1)
    s = 1 / (1 + np.exp(-SCORE))
    el = -(target * np.log(s) + (1 - target) * np.log(1 - s))
    assert loss.item() == pytest.approx(el.mean(), rel=1e-5)
    # mixup-like soft targets are used as is
    soft = np.full((4, 3), 1 / 3, dtype=np.float32)
    loss = LabelSmoothLoss(0.2, num_classes=3)(t(SCORE), t(soft))
    assert loss.item() == pytest.approx(-(soft * log_p).sum(1).mean(), rel=1e-5)
    with pytest.raises(AssertionError, match='num_classes should equal'):
        LabelSmoothLoss(0.1, num_classes=5)(t(SCORE), t(LABEL))
    with pytest.raises(AssertionError, match=r'over \[0, 1\)'):
        LabelSmoothLoss(1)


def test_focal_loss_formula_and_gradient_flows():
    score = t(SCORE, requires_grad=True)
    loss = FocalLoss(gamma=2.0, alpha=0.25)(score, t(LABEL))
    target = np.eye(3)[LABEL]
    s = 1 / (1 + np.exp(-SCORE))
    pt = (1 - s) * target + s * (1 - target)
    w = (0.25 * target + 0.75 * (1 - target)) * pt ** 2
    bce = -(target * np.log(s) + (1 - target) * np.log(1 - s))
    assert loss.item() == pytest.approx((bce * w).mean(), rel=1e-5)
    loss.backward()
    assert score.grad is not None and np.abs(score.grad.numpy()).sum() > 0


def test_l1_loss_and_registry():
    assert isinstance(MODELS.build(dict(type='L1Loss', loss_weight=2.0)), L1Loss)
    loss = L1Loss(loss_weight=2.0)(t([[0., 2.]]), t([[1., 1.]]))
    assert loss.item() == pytest.approx(2.0)
    with pytest.raises(AssertionError):
        L1Loss()(t([[0., 2.]]), t([1]))
    for name in ('CrossEntropyLoss', 'LabelSmoothLoss', 'FocalLoss'):
        assert MODELS.get(name).__module__.startswith('minicls.models.losses')


def test_ce_parity_with_torch_gradients():
    torch = pytest.importorskip('torch')
    cw = [1.0, 2.0, 0.5]
    x = t(SCORE, requires_grad=True)
    loss = CrossEntropyLoss(class_weight=cw)(x, t(LABEL), avg_factor=4)
    loss.backward()
    xt = torch.tensor(SCORE, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(xt, torch.tensor(LABEL), weight=torch.tensor(cw),
                                            reduction='none').sum() / 4
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


INT_SCORE = np.array([[3, -1, 2], [0, 4, 1]])      # int64 "logits": a user mistake
ONE_HOT = np.eye(3, dtype=np.float32)[:2]


@pytest.mark.parametrize('loss', [
    lambda s: minicls.nn.functional.cross_entropy(s, t([0, 1])),
    lambda s: minicls.nn.functional.nll_loss(s, t([0, 1])),
    lambda s: minicls.nn.functional.binary_cross_entropy_with_logits(s, t(ONE_HOT)),
    lambda s: CrossEntropyLoss(class_weight=[1.0, 2.0, 0.5])(s, t([0, 1])),
    lambda s: CrossEntropyLoss(use_soft=True)(s, t(ONE_HOT)),
    lambda s: CrossEntropyLoss(use_sigmoid=True)(s, t(ONE_HOT)),
    lambda s: LabelSmoothLoss(0.1)(s, t([0, 1])),
    lambda s: FocalLoss()(s, t([0, 1]))],
    ids=['F.cross_entropy', 'F.nll_loss', 'F.bce_with_logits', 'CE-class_weight', 'CE-soft',
         'CE-sigmoid', 'LabelSmooth', 'Focal'])
def test_integer_logits_are_refused_with_a_clear_error(loss):
    """Before, some returned 0.0 (class weights cast to int) or a float64 loss."""
    with pytest.raises(TypeError, match=r'expected floating point scores.*int64.*\.float\(\)'):
        loss(t(INT_SCORE))
    assert loss(t(INT_SCORE).float()).dtype == np.float32
    assert loss(t(INT_SCORE).double()).dtype == np.float64


def test_integer_logits_are_refused_by_torch_too():
    torch = pytest.importorskip('torch')
    with pytest.raises(RuntimeError):        # NotImplementedError: "not implemented for 'Long'"
        torch.nn.functional.cross_entropy(torch.tensor(INT_SCORE), torch.tensor([0, 1]))


# -- parse_losses: the one place a loss dict becomes the Tensor to backpropagate -----------------
def test_parse_losses_sums_the_loss_keys_and_logs_every_value():
    from minicls.models.losses import parse_losses
    a = minicls.tensor(1.0, requires_grad=True)
    total, log_vars = parse_losses({'loss': a * 1, 'aux_loss': [minicls.tensor([1.0, 3.0]),
                                                                 minicls.tensor(4.0)],
                                    'accuracy_top-1': minicls.tensor([50.0])})
    assert total.item() == 1.0 + 2.0 + 4.0 and total.requires_grad
    assert log_vars == {'loss': 7.0, 'aux_loss': 6.0, 'accuracy_top-1': 50.0}
    assert list(log_vars) == ['loss', 'aux_loss', 'accuracy_top-1']  # 'loss' first
    total, log_vars = parse_losses({'loss_cls': a * 2})  # no 'loss' key: the total is logged
    assert log_vars == {'loss': 2.0, 'loss_cls': 2.0}


@pytest.mark.parametrize('losses, error, match', [
    ({'loss': 1.0}, TypeError, 'loss is not a tensor or list of tensors'),
    ({'loss': []}, TypeError, 'loss is not a tensor or list of tensors'),
    ({'loss': [minicls.tensor(1.0), 2.0]}, TypeError, 'not a tensor or list of tensors'),
    ({'acc': minicls.tensor(1.0)}, KeyError, 'the model returned no loss'),
])
def test_parse_losses_errors(losses, error, match):
    from minicls.models.losses import parse_losses
    with pytest.raises(error, match=match):
        parse_losses(losses)


def test_runner_and_classifier_share_parse_losses():
    from minicls.engine import runner
    from minicls.models import ImageClassifier
    from minicls.models.losses import parse_losses
    assert runner.parse_losses is parse_losses and ImageClassifier.parse_losses is parse_losses
