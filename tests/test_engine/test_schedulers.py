"""LR schedulers: parity with torch.optim.lr_scheduler, chaining, iteration conversion, state."""
import math

import numpy as np
import pytest

import minicls
from minicls.engine import SGD, build_param_schedulers
from minicls.registry import PARAM_SCHEDULERS

STEPS = 40


def _opt(lr=0.1):
    return SGD([minicls.tensor([1.0], requires_grad=True)], lr=lr, momentum=0.9)


def _lrs(scheduler_step, opt, steps=STEPS):
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]['lr'])
        scheduler_step()
    return out


def _torch_lrs(torch, make, steps=STEPS):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return out


CASES = [
    (dict(type='StepLR', step_size=7, gamma=0.5), lambda S, o: S.StepLR(o, 7, gamma=0.5)),
    (dict(type='MultiStepLR', milestones=[5, 12, 12, 30], gamma=0.1),
     lambda S, o: S.MultiStepLR(o, [5, 12, 12, 30], gamma=0.1)),
    (dict(type='ExponentialLR', gamma=0.9), lambda S, o: S.ExponentialLR(o, 0.9)),
    (dict(type='CosineAnnealingLR', T_max=15, eta_min=1e-3),  # runs past T_max: goes back up
     lambda S, o: S.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)),
    (dict(type='LinearLR', start_factor=0.1, end_factor=1.0, end=11),
     lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10)),
    (dict(type='OneCycleLR', eta_max=0.5, total_steps=STEPS, pct_start=0.25),
     lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, pct_start=0.25,
                               cycle_momentum=False)),
    (dict(type='OneCycleLR', eta_max=0.5, total_steps=STEPS, anneal_strategy='linear',
          three_phase=True),
     lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, anneal_strategy='linear',
                               three_phase=True, cycle_momentum=False)),
]


@pytest.mark.parametrize('cfg,make', CASES, ids=[c[0]['type'] for c in CASES])
def test_matches_torch(cfg, make):
    torch = pytest.importorskip('torch')
    opt = _opt()
    sched = PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=opt))
    ours = _lrs(sched.step, opt, STEPS - 1 if 'OneCycle' in cfg['type'] else STEPS)
    theirs = _torch_lrs(torch, lambda o: make(torch.optim.lr_scheduler, o), len(ours))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_multistep_values_by_hand():
    opt = _opt()
    sched = PARAM_SCHEDULERS.build(dict(type='MultiStepLR', milestones=[2, 4], gamma=0.1),
                                   default_args=dict(optimizer=opt))
    np.testing.assert_allclose(_lrs(sched.step, opt, 6), [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_chained_warmup_then_cosine():
    """LinearLR for steps [0, 5), then cosine over [5, 25): mmengine's chaining by begin/end."""
    opt = _opt(1.0)
    scheds = build_param_schedulers([
        dict(type='LinearLR', start_factor=0.2, begin=0, end=5, by_epoch=False),
        dict(type='CosineAnnealingLR', begin=5, end=25, by_epoch=False)], opt)
    lrs = []
    for _ in range(25):
        lrs.append(opt.param_groups[0]['lr'])
        for s in scheds:
            s.step()
    np.testing.assert_allclose(lrs[:5], [0.2, 0.4, 0.6, 0.8, 1.0], rtol=1e-9)
    expected = [0.5 * (1 + math.cos(math.pi * t / 20)) for t in range(20)]
    np.testing.assert_allclose(lrs[5:], expected, rtol=1e-9, atol=1e-12)


def test_convert_to_iter_based():
    opt = _opt()
    epoch_len = 4
    (sched,) = build_param_schedulers(
        [dict(type='MultiStepLR', milestones=[2], gamma=0.1, convert_to_iter_based=True)],
        opt, epoch_length=epoch_len, max_epochs=3)
    assert not sched.by_epoch and sched.end == 12 and sched.milestones == {8: 1}
    lrs = _lrs(sched.step, opt, 12)
    np.testing.assert_allclose(lrs, [0.1] * 8 + [0.01] * 4)
    opt = _opt()
    (cos,) = build_param_schedulers([dict(type='CosineAnnealingLR', by_epoch=True,
                                          convert_to_iter_based=True)],
                                    opt, epoch_length=5, max_epochs=2)
    assert cos.T_max == 10  # T_max defaults to end - begin, counted in iterations
    (onecycle,) = build_param_schedulers([dict(type='OneCycleLR', eta_max=1.0, total_steps=2,
                                               convert_to_iter_based=True)],
                                         _opt(), epoch_length=5, max_epochs=2)
    assert onecycle.total_steps == 10


def test_state_dict_round_trip():
    opt = _opt()
    sched = PARAM_SCHEDULERS.build(dict(type='CosineAnnealingLR', T_max=10),
                                   default_args=dict(optimizer=opt))
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert 'optimizer' not in state
    opt2 = SGD([minicls.tensor([1.0], requires_grad=True)], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    sched2 = PARAM_SCHEDULERS.build(dict(type='CosineAnnealingLR', T_max=10),
                                    default_args=dict(optimizer=opt2))
    sched2.load_state_dict(state)
    opt2.param_groups[0]['lr'] = opt.param_groups[0]['lr']
    a, b = _lrs(sched.step, opt, 5), _lrs(sched2.step, opt2, 5)
    assert a == b


def test_errors():
    with pytest.raises(ValueError, match='end must be larger'):
        PARAM_SCHEDULERS.build(dict(type='StepLR', step_size=1, begin=5, end=5),
                               default_args=dict(optimizer=_opt()))
    with pytest.raises(KeyError, match='MultiStepLR'):
        build_param_schedulers([dict(type='MultiStepLr', milestones=[1])], _opt())


def test_shortened_training_skips_a_schedule_that_would_begin_after_it():
    """The quickstart's warm-up + cosine with train_cfg.max_epochs=1: the cosine (begin=1, no
    end) is skipped with a log line, instead of failing with iteration numbers."""
    import logging

    from minicls.config import Config
    from minicls.configs import QUICKSTART
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger('minicls')
    logger.addHandler(handler)
    try:
        cfgs = Config.fromfile(QUICKSTART).param_scheduler
        schedulers = build_param_schedulers(cfgs, _opt(), epoch_length=94, max_epochs=1,
                                            max_iters=94)
    finally:
        logger.removeHandler(handler)
    assert [type(s).__name__ for s in schedulers] == ['LinearLR']
    assert any('CosineAnnealingLR begins at epoch 1, but training ends after epoch 1 '
               '(train_cfg.max_epochs=1): it is skipped' in r.getMessage() for r in records)
    full = build_param_schedulers(cfgs, _opt(), epoch_length=94, max_epochs=12, max_iters=1128)
    assert (full[1].begin, full[1].end) == (94, 1128)   # an unset end follows max_epochs


def test_begin_end_mistakes_are_reported_in_epochs_and_unknown_arguments_refused():
    from minicls.config.errors import ConfigError
    cfg = dict(type='CosineAnnealingLR', by_epoch=True, begin=3, end=2,
               convert_to_iter_based=True)
    with pytest.raises(ConfigError, match=r'begin=3, end=2 \(epochs\)'):
        build_param_schedulers([cfg], _opt(), epoch_length=94, max_epochs=5, max_iters=470)
    one_cycle = dict(type='OneCycleLR', eta_max=0.2, total_steps=18, by_epoch=True,
                     convert_to_iter_based=True)
    with pytest.raises(ConfigError, match=r'total_steps=18 epochs, but training lasts 30 '
                                          r'epochs \(train_cfg.max_epochs\)'):
        build_param_schedulers([one_cycle], _opt(), epoch_length=4, max_epochs=30,
                               max_iters=120)
    assert build_param_schedulers([one_cycle], _opt(), epoch_length=4, max_epochs=18,
                                  max_iters=72)[0].total_steps == 72
    with pytest.raises(TypeError, match="CosineAnnealingLR has no argument 'T_mx'. Did you "
                                        "mean 'T_max'"):
        build_param_schedulers([dict(type='CosineAnnealingLR', T_mx=3)], _opt(), max_epochs=5)


def test_the_state_of_another_kind_of_scheduler_is_refused():
    linear = PARAM_SCHEDULERS.build(dict(type='LinearLR', end=4),
                                    default_args=dict(optimizer=_opt()))
    constant = PARAM_SCHEDULERS.build(dict(type='ConstantLR', factor=0.5, end=4),
                                      default_args=dict(optimizer=_opt()))
    with pytest.raises(ValueError) as info:
        constant.load_state_dict(linear.state_dict())
    assert str(info.value) == ('ConstantLR.load_state_dict: the state was saved by another kind '
                               'of scheduler: it has end_factor, start_factor, which ConstantLR '
                               'does not; it lacks factor')
    assert constant.factor == 0.5 and not hasattr(constant, 'start_factor')  # nothing loaded
