"""Small helpers that several parts of minicls share (as ``mmengine.utils``)."""
import numbers


def to_2tuple(value, name='argument'):
    """``3 -> (3, 3)``; a pair (or a one-element list) -> a tuple of two ints.

    The one int-to-pair helper of minicls: layer sizes (``kernel_size``, ``stride``...) and
    image sizes (``crop_size``, ``scale``) all go through it, as ``torch.nn.modules.utils._pair``
    and mmengine's ``to_2tuple``. Anything else is a ``TypeError`` that names ``name``.
    """
    if isinstance(value, (tuple, list)) and len(value) in (1, 2):
        pair = (value[0], value[-1])
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (value, value)
    else:
        raise TypeError(f'{name} must be an int or a pair of ints, but got {value!r}')
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair):
        raise TypeError(f'{name} must be an int or a pair of ints, but got {value!r}')
    return int(pair[0]), int(pair[1])
