"""minicls: a from-scratch NumPy/CuPy deep-learning framework for image classification."""
__version__ = '0.1.0'
