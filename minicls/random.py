"""One seeded random generator for everything minicls draws (init, dropout, randn...)."""
import numpy as np

from . import backend

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed minicls's generator (and CuPy's, when present), as ``torch.manual_seed``."""
    global _generator
    _generator = np.random.default_rng(seed)
    if backend.cupy is not None:
        backend.cupy.random.seed(seed)
    return _generator


def generator():
    """The host NumPy Generator used for all random numbers."""
    return _generator


def get_rng_state():
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state
