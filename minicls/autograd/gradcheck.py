"""``gradcheck``: compare autograd's gradients with finite differences, in float64.

For a scalar L = sum(fn(inputs) * c) with a fixed random cotangent c, each input element x_i
is nudged both ways: dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps). The analytic gradients
from ``backward`` must match these within ``atol + rtol * |numeric|``.
"""
import numpy as np

from ..backend import get_array_module, to_numpy
from .function import Function


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if the gradients of ``fn`` at ``inputs`` match; else raise naming the worst element.

    ``inputs`` are float64 Tensors (those with ``requires_grad`` are checked); ``fn`` returns a
    Tensor (or a tuple whose first item is checked).
    """
    Tensor = Function.tensor_class  # noqa: N806 (minicls.Tensor; see Function.tensor_class)
    inputs = list(inputs)
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64:
            raise TypeError(f'gradcheck needs float64 inputs (got {x.dtype}): finite '
                            'differences in float32 are too coarse. Use x.double().')
    checked = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def output(*args):
        out = fn(*args)
        return out[0] if isinstance(out, (tuple, list)) else out

    out = output(*inputs)
    xp = get_array_module(out.data)
    cotangent = xp.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    kept = [x.grad for x in checked]   # as torch's gradcheck, leave the inputs' .grad alone
    for x in checked:
        x.grad = None
    (out * Tensor(cotangent)).sum().backward()
    analytics = [to_numpy(x.grad.data) if x.grad is not None else np.zeros(x.shape)
                 for x in checked]
    for x, grad in zip(checked, kept):
        x.grad = grad

    def loss():
        return float((output(*inputs).data * cotangent).sum())

    for index, (x, analytic) in enumerate(zip(checked, analytics)):
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: nudging it nudges x
        for i in range(flat.size):
            original = flat[i].item()
            flat[i] = original + eps
            up = loss()
            flat[i] = original - eps
            down = loss()
            flat[i] = original
            numeric.reshape(-1)[i] = (up - down) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if (error > 0).any():
            worst = np.unravel_index(np.argmax(error), x.shape)
            raise AssertionError(
                f'gradcheck failed for input {index} (shape {x.shape}) at element {worst}: '
                f'analytic {analytic[worst]:.6g} vs numeric {numeric[worst]:.6g} '
                f'(atol={atol}, rtol={rtol}); {int((error > 0).sum())} of {x.numel()} elements '
                'differ')
    return True
