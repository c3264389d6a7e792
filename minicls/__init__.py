"""minicls: a from-scratch NumPy/CuPy deep-learning framework for image classification.

The names mirror PyTorch: ``minicls.tensor``, ``minicls.zeros``, ``x.sum(1)``,
``minicls.no_grad()``, ``minicls.nn.Conv2d``...
"""
__version__ = '0.1.0'

from . import autograd, backend, backends, cuda, functional  # noqa: E402
from .tensor import Tensor  # noqa: E402
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                       full_like, linspace, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .dtypes import (bool, double, float, float16, float32, float64, half, int,  # noqa: E402,A004
                     int32, int64, long, uint8)
from .functional import (abs, add, amax, amin, argmax, argmin, cat, clamp, clip,  # noqa: E402,A004
                         concat, div, exp, flatten, gather, log, log_softmax, matmul, max,
                         mean, min, mul, neg, permute, pow, relu, reshape, sigmoid, softmax,
                         sqrt, squeeze, stack, sub, sum, tanh, topk, transpose, unsqueeze, var,
                         where, is_tensor)
from .functional_extra import (argsort, bmm, chunk, flip, index_select,  # noqa: E402
                               logsumexp, masked_fill, norm, numel, roll, scatter, sign, sort,
                               split, square, std, t, unbind)
from .random import get_rng_state, manual_seed, set_rng_state  # noqa: E402
from .parallel import get_num_threads, set_num_threads  # noqa: E402
from .memory import keep_freed_memory  # noqa: E402
from . import nn  # noqa: E402
