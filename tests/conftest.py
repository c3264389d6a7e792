"""Fixtures shared by the test files."""
import pytest


@pytest.fixture
def cuda(monkeypatch):
    """'cuda' backed by real CuPy if present, else by the stand-in of tests/fakecupy.py, which
    refuses any stray NumPy call on device arrays (so the GPU path is tested on any machine)."""
    from minicls import backend
    if backend.cupy is None:
        import fakecupy
        monkeypatch.setattr(backend, 'cupy', fakecupy.make_module())
    return 'cuda'
