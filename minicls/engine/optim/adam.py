"""Adam and AdamW (decoupled weight decay), with PyTorch's update rules.

Explained in tutorials/07_optimizers_and_schedules.md.
"""
import math

from minicls.backend import get_array_module
from minicls.config.errors import ConfigError
from minicls.registry import OPTIMIZERS

from .optimizer import Optimizer


@OPTIMIZERS.register_module()
class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015). At step :math:`t`, for parameter :math:`p` with gradient :math:`g`:

    .. math::
        g &\leftarrow g + \lambda p        && \text{(Adam's L2 weight decay; AdamW: see below)} \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        p &\leftarrow p - \frac{\eta}{1-\beta_1^t}\;
              \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    With ``amsgrad=True`` the running maximum of :math:`v` replaces :math:`v` in the denominator.

    Args:
        params: Tensors or param-group dicts.
        lr (float): :math:`\eta`. betas (tuple): :math:`(\beta_1, \beta_2)`. eps (float).
        weight_decay (float): :math:`\lambda`. amsgrad (bool).
    """

    decoupled = False  # AdamW sets True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ConfigError(f'{type(self).__name__}: lr, eps and weight_decay must be >= 0')
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ConfigError(f'{type(self).__name__}: betas must be in [0, 1), got {betas}')
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def step(self):
        for group in self.param_groups:
            lr, eps, wd = group['lr'], group['eps'], group['weight_decay']
            beta1, beta2 = group['betas']
            for p in self._params_with_grad(group):
                xp = get_array_module(p.data)
                grad = p.grad.data
                state = self.state.setdefault(id(p), {})
                if not state:
                    state['step'] = 0
                    state['exp_avg'] = xp.zeros_like(p.data)
                    state['exp_avg_sq'] = xp.zeros_like(p.data)
                    if group['amsgrad']:
                        state['max_exp_avg_sq'] = xp.zeros_like(p.data)
                state['step'] += 1
                t = state['step']
                if wd != 0:
                    if self.decoupled:
                        p.data *= 1 - lr * wd
                    else:
                        grad = grad + wd * p.data
                m, v = state['exp_avg'], state['exp_avg_sq']
                m += (1 - beta1) * (grad - m)  # == beta1 * m + (1 - beta1) * grad (a lerp)
                v *= beta2
                v += (1 - beta2) * grad * grad
                if group['amsgrad']:
                    xp.maximum(state['max_exp_avg_sq'], v, out=state['max_exp_avg_sq'])
                    v = state['max_exp_avg_sq']
                step_size = lr / (1 - beta1 ** t)
                denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
                p.data -= step_size * (m / denom)


@OPTIMIZERS.register_module()
class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019): before the Adam step,
    :math:`p \leftarrow p\,(1 - \eta\lambda)`, and the gradient is left alone.

    Args: as ``Adam``'s (``lr``, ``betas``, ``eps``, ``weight_decay``, ``amsgrad``), but
        weight_decay (float): The decoupled decay :math:`\lambda`. Default: 1e-2."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
