"""Switches for how ops compute their results, as ``torch.backends`` (``cudnn.benchmark``...).

    minicls.backends.conv_algorithm = 'auto'       # the default
    with minicls.backends.flags(conv_algorithm='im2col'):
        ...                                        # e.g. to compare, or for a test

``conv_algorithm`` picks how a 2-D convolution multiplies (``minicls.nn.functional.conv``):

- ``'im2col'``: every window copied into a column, one GEMM (any conv; the fallback);
- ``'winograd'``: Winograd F(2x2, 3x3) (``minicls.nn.functional.winograd``) wherever it applies
  (3x3 kernel, stride 1, dilation 1, no groups; forward and the input gradient), im2col
  elsewhere. 2.25x fewer multiplies; float32 results differ from im2col's by rounding only;
- ``'auto'``: Winograd where the measured rule ``winograd.worth_it`` says it is faster on this
  CPU (enough channels and pixels per image), im2col elsewhere and on a GPU. Given the shapes,
  the choice is fixed (no timing at run time), so runs stay reproducible.
"""
import contextlib

CONV_ALGORITHMS = ('auto', 'im2col', 'winograd')
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
