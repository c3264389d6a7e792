"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

Explained in tutorials/07_optimizers_and_schedules.md.
"""
from minicls.config.errors import ConfigError
from minicls.registry import OPTIMIZERS

from .optimizer import Optimizer


@OPTIMIZERS.register_module()
class SGD(Optimizer):
    r"""SGD with PyTorch's update rule. For each parameter :math:`p` with gradient :math:`g`:

    .. math::
        g &\leftarrow g + \lambda p                       && \text{(weight decay)} \\
        b &\leftarrow \mu b + (1 - \tau) g                && \text{(momentum; } b = g
                                                             \text{ on the first step)} \\
        g &\leftarrow g + \mu b \text{ (Nesterov) or } b \\
        p &\leftarrow p - \eta g

    Args:
        params: Tensors or param-group dicts.
        lr (float): the learning rate :math:`\eta`.
        momentum (float): :math:`\mu`. dampening (float): :math:`\tau`.
        weight_decay (float): :math:`\lambda` (L2 penalty added to the gradient).
        nesterov (bool): Nesterov momentum (needs momentum > 0 and dampening 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ConfigError(f'SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, '
                              f'momentum={momentum}, weight_decay={weight_decay}')
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ConfigError('SGD: Nesterov momentum requires momentum > 0 and dampening = 0')
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self):
        for group in self.param_groups:
            lr, mu, tau = group['lr'], group['momentum'], group['dampening']
            wd = group['weight_decay']
            for p in self._params_with_grad(group):
                d_p = p.grad.data
                if wd != 0:
                    d_p = d_p + wd * p.data  # a new array: never change p.grad in place
                if mu != 0:
                    state = self.state.setdefault(id(p), {})
                    buf = state.get('momentum_buffer')
                    if buf is None:
                        buf = state['momentum_buffer'] = d_p.copy()
                    else:
                        buf *= mu
                        buf += (1 - tau) * d_p
                    d_p = d_p + mu * buf if group['nesterov'] else buf
                p.data -= lr * d_p
