"""The autograd engine: ``Function`` (one op), the graph it records, and ``backward``."""
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck
from .opspec import OpCase
from .profiler import profile

__all__ = ['Function', 'Context', 'OpCase', 'profile', 'gradcheck', 'no_grad', 'enable_grad',
           'is_grad_enabled', 'set_grad_enabled']
