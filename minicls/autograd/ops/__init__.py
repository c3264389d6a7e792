"""The engine's ops: one small ``Function`` per operation, grouped by family."""
from .activation import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub
from .indexing import Flip, Scatter
from .reduction import Max, Mean, Sum, Var
from .shape import Cast, Cat, Expand, Gather, GetItem, Permute, Reshape, ToDevice, Where
from .unary import Abs, Clamp, Exp, Log, Sign, Sqrt

__all__ = ['Add', 'Sub', 'Mul', 'Div', 'Neg', 'Pow', 'MatMul', 'Abs', 'Exp', 'Log', 'Sqrt',
           'Clamp', 'ReLU', 'Sigmoid', 'Tanh', 'GELU', 'Softmax', 'LogSoftmax', 'Sum', 'Mean',
           'Var', 'Max', 'Reshape', 'Permute', 'Expand', 'GetItem', 'Gather', 'Cat', 'Where',
           'Cast', 'ToDevice', 'Flip', 'Scatter', 'Sign']
