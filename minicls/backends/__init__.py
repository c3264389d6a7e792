"""Switches for how ops compute their results, as ``torch.backends`` (``cudnn.benchmark``...).
On a GPU, ``minicls.backends.cuda.matmul.allow_tf32`` (TensorFloat-32, see ``backends/cuda.py``).

    minicls.backends.conv_algorithm = 'auto'       # the default
    with minicls.backends.flags(conv_algorithm='im2col'):
        ...                                        # e.g. to compare, or for a test

``conv_algorithm`` picks how a 2-D convolution multiplies (``minicls.nn.functional.conv``):

- ``'im2col'``: every window copied into a column, one GEMM (any conv; the fallback);
- ``'winograd'``: Winograd F(2x2, 3x3) (``minicls.nn.functional.winograd``) wherever it applies
  (3x3 kernel, stride 1, dilation 1, no groups; forward, input and weight gradients), im2col
  elsewhere. 2.25x fewer multiplies; float32 results differ from im2col's by rounding only;
- ``'winograd_4x4'``: Winograd F(4x4, 3x3) there instead: 4x fewer multiplies, a float32
  error about 10x im2col's (still ~1e-6 of sum |x||w|, see ``winograd``'s docstring);
- ``'auto'``: on the CPU, Winograd where the measured rule ``winograd.auto_tile`` says it is
  faster (64 or more channels; F(4x4) from 8x8 outputs up, F(2x2) below), im2col elsewhere and
  on a GPU. Given the shapes, the choice is fixed (no timing at run time), so runs stay
  reproducible.
"""
import contextlib

from . import cuda  # noqa: F401  (minicls.backends.cuda.matmul.allow_tf32)

CONV_ALGORITHMS = ('auto', 'im2col', 'winograd', 'winograd_4x4')
conv_algorithm = 'auto'


def get_conv_algorithm():
    """``conv_algorithm``, checked."""
    if conv_algorithm not in CONV_ALGORITHMS:
        raise ValueError(f'minicls.backends.conv_algorithm must be one of {CONV_ALGORITHMS}, '
                         f'got {conv_algorithm!r}')
    return conv_algorithm


@contextlib.contextmanager
def flags(conv_algorithm=None):
    """Set the switches given (not None) inside a ``with`` block (as
    ``torch.backends.cudnn.flags``), and restore them after it."""
    previous = globals()['conv_algorithm']
    if conv_algorithm is not None:
        if conv_algorithm not in CONV_ALGORITHMS:
            raise ValueError(f'flags: conv_algorithm must be one of {CONV_ALGORITHMS}, got '
                             f'{conv_algorithm!r}')
        globals()['conv_algorithm'] = conv_algorithm
    try:
        yield
    finally:
        globals()['conv_algorithm'] = previous
