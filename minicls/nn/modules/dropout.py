"""``Dropout``: zero each element with probability ``p`` in training (and scale the rest by
``1 / (1 - p)`` so the expected value is unchanged); the identity in evaluation."""
from .. import functional as F
from .module import Module


class Dropout(Module):

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f'dropout probability has to be between 0 and 1, but got {p}')
        self.p = p
        self.inplace = inplace  # accepted for PyTorch compatibility, ignored

    def forward(self, input):  # noqa: A002
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f'p={self.p}, inplace={self.inplace}'
