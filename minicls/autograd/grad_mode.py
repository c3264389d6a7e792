"""``no_grad`` / ``enable_grad``: switch graph recording off and on.

Inside ``with minicls.no_grad():`` ops compute their result and record nothing, so evaluation
uses no memory for the backward pass. Both also work as decorators.
"""
import functools
import threading

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, 'enabled', True)


def _set(mode):
    _state.enabled = bool(mode)


class set_grad_enabled:
    """Context manager / decorator that sets grad mode to ``mode`` and restores it on exit."""

    def __init__(self, mode):
        self.mode = mode
        self.prev = is_grad_enabled()
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self.prev)
        return False


class _GradMode:
    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Record no graph: ``with minicls.no_grad(): ...`` or ``@minicls.no_grad()``."""
    mode = False


class enable_grad(_GradMode):
    """Record the graph again inside a ``no_grad`` block."""
    mode = True
