"""``nn.init``: fill a weight tensor in place with random or constant values, as PyTorch.

All functions change ``tensor`` in place (outside the graph, as under ``no_grad``) and return
it. Random numbers come from ``minicls.random.generator()`` (seeded by ``minicls.manual_seed``),
drawn on the host and copied to the tensor's device.

The scaled schemes keep the variance of activations constant from layer to layer:
``fan_in = in_channels * kh * kw`` (inputs summed by one output) and ``fan_out = out_channels *
kh * kw``; Kaiming (He) draws with ``std = gain / sqrt(fan)``, Xavier (Glorot) with
``std = gain * sqrt(2 / (fan_in + fan_out))``. A uniform on ``[-b, b]`` has
``std = b / sqrt(3)``, hence the ``sqrt(3)`` in the uniform versions.

Explained in tutorials/06_batchnorm_and_init.md.
"""
import math
import warnings

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..random import generator


def _fill(tensor, values):
    """Copy the host array ``values`` into ``tensor`` (its dtype, its device)."""
    values = np.asarray(values, dtype=tensor.dtype)
    with no_grad():
        tensor.copy_(backend.to_device(np.broadcast_to(values, tensor.shape), tensor.device))
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps the activation variance after ``nonlinearity``.

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with negative slope ``s``
    (``param``, default 0.01): sqrt(2 / (1 + s^2)); selu: 3/4.
    """
    if nonlinearity in ('linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d',
                        'conv_transpose2d', 'conv_transpose3d', 'sigmoid'):
        return 1
    if nonlinearity == 'tanh':
        return 5.0 / 3
    if nonlinearity == 'relu':
        return math.sqrt(2.0)
    if nonlinearity == 'leaky_relu':
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f'negative_slope {param} not a valid number')
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == 'selu':
        return 3.0 / 4
    raise ValueError(f'Unsupported nonlinearity {nonlinearity}: use linear, conv2d, sigmoid, '
                     'tanh, relu, leaky_relu or selu')


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    if tensor.ndim < 2:
        raise ValueError('Fan in and fan out can not be computed for tensor with fewer than 2 '
                         f'dimensions (got shape {tuple(tensor.shape)})')
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ('fan_in', 'fan_out'):
        raise ValueError(f"Mode {mode} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == 'fan_in' else fan_out


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    return _fill(tensor, generator().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, generator().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) restricted to ``[a, b]`` (absolute bounds, as PyTorch).

    Rejection sampling: draw, then redraw every value outside ``[a, b]`` until none is left.
    """
    if not a < b:
        raise ValueError(f'trunc_normal_: need a < b, got a={a}, b={b}')
    values = generator().normal(mean, std, size=tensor.shape)
    for _ in range(1000):
        bad = (values < a) | (values > b)
        if not bad.any():
            break
        values[bad] = generator().normal(mean, std, size=int(bad.sum()))
    else:  # [a, b] holds almost none of the mass: clip what is left
        values = np.clip(values, a, b)
    return _fill(tensor, values)


def constant_(tensor, val):
    """Fill with ``val``."""
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0.0)


def ones_(tensor):
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'):
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan).

    ``a`` is the leaky_relu negative slope; ``mode='fan_out'`` keeps the gradient variance in
    the backward pass instead of the activation variance in the forward pass.
    """
    if 0 in tensor.shape:
        warnings.warn('Initializing zero-element tensors is a no-op')
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        warnings.warn('Initializing zero-element tensors is a no-op')
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
