"""High-level helpers: build a model from a config and classify images."""
from .inference import get_model, inference_model, init_model

__all__ = ['get_model', 'init_model', 'inference_model']
