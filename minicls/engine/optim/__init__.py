"""Optimizers (SGD, Adam, AdamW) and the ``optim_wrapper`` builder."""
from .adam import Adam, AdamW
from .builder import OptimWrapper, build_optim_wrapper, clip_grad_norm_
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ['Optimizer', 'SGD', 'Adam', 'AdamW', 'OptimWrapper', 'build_optim_wrapper',
           'clip_grad_norm_']
