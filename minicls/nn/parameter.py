"""``Parameter``: a Tensor that a Module learns.

A Parameter is an ordinary leaf Tensor with ``requires_grad=True`` by default. The only thing
that makes it special is its type: assigning one to a Module attribute (``self.weight =
Parameter(...)``) registers it, so that ``module.parameters()`` finds it for the optimiser and
``module.state_dict()`` saves it.
"""
from ..tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: ``Parameter(data, requires_grad=True)``.

    Args:
        data (Tensor or array): the values; a Tensor's array is shared, not copied.
        requires_grad (bool): whether the optimiser should train it. Default True.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            import numpy as np
            data = np.empty((0,), dtype='float32')
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return 'Parameter containing:\n' + super().__repr__()
