"""``minicls.nn.parallel``: :class:`DistributedDataParallel` (as ``torch.nn.parallel``)."""
from .distributed import DistributedDataParallel, unwrap

__all__ = ['DistributedDataParallel', 'unwrap']
