"""``optim_wrapper`` configs -> an :class:`OptimWrapper` around an optimizer.

mmpretrain configs describe the optimizer as::

    optim_wrapper = dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
        paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),   # optional
        clip_grad=dict(max_norm=5.0))                                  # optional

``paramwise_cfg`` changes the learning rate / weight decay of some parameters; as in
mmengine's ``DefaultOptimWrapperConstructor`` every parameter then gets its own param group
with ``lr = base_lr * lr_mult`` and ``weight_decay = base_wd * decay_mult``.

Explained in tutorials/07_optimizers_and_schedules.md.
"""
import math

import numpy as np

from minicls.backend import get_array_module
from minicls.config.errors import ConfigError, ConfigKeyError, check_keys
from minicls.registry import OPTIMIZERS
from minicls.tensor import Tensor

PARAMWISE_KEYS = ('bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'flat_decay_mult',
                  'custom_keys', 'bypass_duplicate')


class OptimWrapper:
    """An optimizer plus what a training step does around it.

    ``update_params(loss)`` = ``loss.backward()``, optional gradient clipping (by total L2
    norm, as ``torch.nn.utils.clip_grad_norm_``), ``optimizer.step()``, ``zero_grad()``.
    ``param_groups``, ``state_dict`` and ``load_state_dict`` are the optimizer's, so schedulers
    and checkpoints can take either object.
    """

    def __init__(self, optimizer, clip_grad=None):
        self.optimizer = optimizer
        self.clip_grad = dict(clip_grad) if clip_grad else None
        if self.clip_grad is not None and 'max_norm' not in self.clip_grad:
            raise ConfigKeyError("clip_grad needs 'max_norm', e.g. clip_grad=dict(max_norm=5.0)")

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def get_lr(self):
        return {'lr': [group['lr'] for group in self.param_groups]}

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        if self.clip_grad is not None:
            clip_grad_norm_([p for g in self.param_groups for p in g['params']],
                            **self.clip_grad)
        self.optimizer.step()

    def update_params(self, loss):
        loss.backward()
        self.step()
        self.zero_grad()

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self):
        return f'OptimWrapper(clip_grad={self.clip_grad})\n{self.optimizer!r}'


def clip_grad_norm_(params, max_norm, norm_type=2.0):
    r"""Scale all gradients by :math:`\min(1, \text{max\_norm} / (\|g\| + 10^{-6}))` where
    :math:`\|g\|` is the norm of all gradients joined into one vector; return :math:`\|g\|`
    as a 0-d Tensor, as ``torch.nn.utils.clip_grad_norm_``.

    Everything stays on the gradients' device: on a GPU, asking "is the scale below 1?" would
    be a host sync, so there every gradient is multiplied by the clamped scale (as torch does);
    on the CPU the multiply is skipped when the scale is 1.
    """
    grads = [p.grad for p in params if p.grad is not None and p.grad.numel()]
    if not grads:
        return Tensor(np.float32(0.0))
    xp = get_array_module(grads[0].data)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = xp.stack([xp.abs(g.data).max() for g in grads]).max().astype(xp.float64)
    else:
        total = xp.stack([(xp.abs(g.data.astype(xp.float64)) ** norm_type).sum()
                          for g in grads]).sum() ** (1.0 / norm_type)
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    if xp is not np or coef < 1:
        for g in grads:
            g.data = g.data * coef.astype(g.data.dtype)
    return Tensor(total.astype(grads[0].data.dtype))


def _is_norm(module):
    name = type(module).__name__
    return 'Norm' in name  # BatchNorm1d/2d, LayerNorm, GroupNorm, SyncBatchNorm...


def _paramwise_groups(model, base, paramwise_cfg):
    """One param group per parameter, with the multipliers of ``paramwise_cfg`` applied."""
    check_keys(paramwise_cfg, PARAMWISE_KEYS, 'optim_wrapper.paramwise_cfg')
    custom = paramwise_cfg.get('custom_keys', {})
    base_lr, base_wd = base.get('lr'), base.get('weight_decay', 0)
    groups, seen = [], set()
    for mod_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            full = f'{mod_name}.{name}' if mod_name else name
            group = {'params': [p]}
            lr_mult, decay_mult = 1.0, 1.0
            matched = [k for k in sorted(custom, key=len, reverse=True) if k in full]
            if matched:
                lr_mult = custom[matched[0]].get('lr_mult', 1.0)
                decay_mult = custom[matched[0]].get('decay_mult', 1.0)
            else:
                if name == 'bias' and not _is_norm(module):
                    lr_mult = paramwise_cfg.get('bias_lr_mult', 1.0)
                    decay_mult = paramwise_cfg.get('bias_decay_mult', 1.0)
                if _is_norm(module) and 'norm_decay_mult' in paramwise_cfg:
                    decay_mult = paramwise_cfg['norm_decay_mult']
                elif (p.ndim == 1 and not (name == 'bias' and 'bias_decay_mult' in paramwise_cfg)
                      and 'flat_decay_mult' in paramwise_cfg):
                    decay_mult = paramwise_cfg['flat_decay_mult']
            if base_lr is not None:
                group['lr'] = base_lr * lr_mult
            if base_wd:
                group['weight_decay'] = base_wd * decay_mult
            groups.append(group)
    return groups


def build_optim_wrapper(model, cfg):
    """Build an :class:`OptimWrapper` from an ``optim_wrapper`` config dict.

    Args:
        model: the Module to optimise (only parameters with ``requires_grad``).
        cfg (dict): ``dict(optimizer=dict(type=..., lr=...), paramwise_cfg=None,
            clip_grad=None, type='OptimWrapper')``.
    """
    cfg = dict(cfg)
    check_keys(cfg, ('type', 'optimizer', 'paramwise_cfg', 'clip_grad', 'accumulative_counts',
                     'loss_scale'), 'optim_wrapper')
    kind = cfg.pop('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ConfigKeyError(f'unknown optim_wrapper type {kind!r}; minicls has OptimWrapper')
    cfg.pop('loss_scale', None)  # AmpOptimWrapper option: minicls trains in float32
    if 'optimizer' not in cfg:
        raise ConfigKeyError("optim_wrapper needs an 'optimizer' entry, e.g. "
                       "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))")
    opt_cfg = dict(cfg.pop('optimizer'))
    paramwise_cfg = cfg.pop('paramwise_cfg', None)
    clip_grad = cfg.pop('clip_grad', None)
    if cfg.pop('accumulative_counts', 1) != 1:
        raise ConfigError('minicls does not accumulate gradients over iterations; '
                         'remove accumulative_counts (or set it to 1)')
    if paramwise_cfg:
        params = _paramwise_groups(model, opt_cfg, dict(paramwise_cfg))
    else:
        params = [p for p in model.parameters() if p.requires_grad]
    optimizer = OPTIMIZERS.build(opt_cfg, default_args=dict(params=params))
    return OptimWrapper(optimizer, clip_grad=clip_grad)
