"""The math methods of ``Tensor`` (``x + y``, ``x.sum(1)``, ``x.view(-1)``...).

Each one is a one-line call of the same-named function in ``minicls.functional``, so a method
and its function (``x.exp()`` and ``minicls.exp(x)``) can never disagree.

``TensorOps`` is a mixin that ``Tensor`` inherits, so this module sits below ``tensor.py`` in
the import chain (autograd ops -> functional -> tensor_ops -> tensor) and never imports
``Tensor``: a new tensor is made with ``Function.tensor_class``, the class ``tensor.py``
registers (a plain Tensor even when ``self`` is a Parameter).
"""
from . import backend, functional, functional_extra
from .autograd.function import Function
from .autograd.grad_mode import is_grad_enabled


class TensorOps:
    # -- operators ------------------------------------------------------------------------------
    def __add__(self, other):
        return functional.add(self, other)

    def __radd__(self, other):
        return functional.add(other, self)

    def __sub__(self, other):
        return functional.sub(self, other)

    def __rsub__(self, other):
        return functional.sub(other, self)

    def __mul__(self, other):
        return functional.mul(self, other)

    def __rmul__(self, other):
        return functional.mul(other, self)

    def __truediv__(self, other):
        return functional.div(self, other)

    def __rtruediv__(self, other):
        return functional.div(other, self)

    def __pow__(self, other):
        return functional.pow(self, other)

    def __rpow__(self, other):
        return functional.pow(other, self)

    def __matmul__(self, other):
        return functional.matmul(self, other)

    def __rmatmul__(self, other):
        return functional.matmul(other, self)

    def __neg__(self):
        return functional.neg(self)

    def __abs__(self):
        return functional.abs(self)

    def __getitem__(self, index):
        return functional.getitem(self, index)

    # -- comparisons: no gradient, a bool tensor ------------------------------------------------
    def _compare(self, other, op):
        other = functional.as_tensor_like(other, self)
        return Function.tensor_class(op(self.data, other.data))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __invert__(self):
        return Function.tensor_class(~self.data)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b)

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self):
        return Function.tensor_class(self.data.any())

    def all(self):
        return Function.tensor_class(self.data.all())

    def isnan(self):
        return Function.tensor_class(self.data != self.data)

    # -- math (each is the function of the same name in minicls.functional) -----------------
    def add(self, *args, **kwargs):
        return functional.add(self, *args, **kwargs)

    def sub(self, *args, **kwargs):
        return functional.sub(self, *args, **kwargs)

    def mul(self, *args, **kwargs):
        return functional.mul(self, *args, **kwargs)

    def div(self, *args, **kwargs):
        return functional.div(self, *args, **kwargs)

    def pow(self, *args, **kwargs):
        return functional.pow(self, *args, **kwargs)

    def matmul(self, *args, **kwargs):
        return functional.matmul(self, *args, **kwargs)

    def abs(self, *args, **kwargs):
        return functional.abs(self, *args, **kwargs)

    def exp(self, *args, **kwargs):
        return functional.exp(self, *args, **kwargs)

    def log(self, *args, **kwargs):
        return functional.log(self, *args, **kwargs)

    def sqrt(self, *args, **kwargs):
        return functional.sqrt(self, *args, **kwargs)

    def neg(self, *args, **kwargs):
        return functional.neg(self, *args, **kwargs)

    def clamp(self, *args, **kwargs):
        return functional.clamp(self, *args, **kwargs)

    def relu(self, *args, **kwargs):
        return functional.relu(self, *args, **kwargs)

    def sigmoid(self, *args, **kwargs):
        return functional.sigmoid(self, *args, **kwargs)

    def tanh(self, *args, **kwargs):
        return functional.tanh(self, *args, **kwargs)

    def softmax(self, *args, **kwargs):
        return functional.softmax(self, *args, **kwargs)

    def log_softmax(self, *args, **kwargs):
        return functional.log_softmax(self, *args, **kwargs)

    def sum(self, *args, **kwargs):
        return functional.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return functional.mean(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return functional.var(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return functional.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return functional.min(self, *args, **kwargs)

    def amax(self, *args, **kwargs):
        return functional.amax(self, *args, **kwargs)

    def amin(self, *args, **kwargs):
        return functional.amin(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return functional.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return functional.argmin(self, *args, **kwargs)

    def topk(self, *args, **kwargs):
        return functional.topk(self, *args, **kwargs)

    def gather(self, *args, **kwargs):
        return functional.gather(self, *args, **kwargs)

    clip = clamp

    def std(self, dim=None, unbiased=True, keepdim=False):
        return functional.var(self, dim, unbiased, keepdim) ** 0.5

    def square(self):
        return self * self

    # -- shape ----------------------------------------------------------------------------------
    def reshape(self, *args, **kwargs):
        return functional.reshape(self, *args, **kwargs)

    def flatten(self, *args, **kwargs):
        return functional.flatten(self, *args, **kwargs)

    def permute(self, *args, **kwargs):
        return functional.permute(self, *args, **kwargs)

    def transpose(self, *args, **kwargs):
        return functional.transpose(self, *args, **kwargs)

    def unsqueeze(self, *args, **kwargs):
        return functional.unsqueeze(self, *args, **kwargs)

    def squeeze(self, *args, **kwargs):
        return functional.squeeze(self, *args, **kwargs)

    def expand(self, *args, **kwargs):
        return functional.expand(self, *args, **kwargs)

    view = reshape

    def view_as(self, other):
        return functional.reshape(self, other.shape)

    def expand_as(self, other):
        return functional.expand(self, other.shape)

    # -- in-place updates (for optimisers and init, outside the graph) --------------------------
    def _check_inplace(self):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError('a leaf Tensor that requires grad is being used in an in-place '
                               'operation; wrap the update in `with minicls.no_grad():`')

    def _set(self, array):
        self._check_inplace()
        self.data[...] = array
        return self

    def zero_(self):
        return self._set(0)

    def fill_(self, value):
        return self._set(value)

    def copy_(self, src):
        return self._set(getattr(src, 'data', src))

    def add_(self, other, alpha=1):
        return self._set(self.data + alpha * getattr(other, 'data', other))

    def sub_(self, other, alpha=1):
        return self._set(self.data - alpha * getattr(other, 'data', other))

    def mul_(self, other):
        return self._set(self.data * getattr(other, 'data', other))

    def div_(self, other):
        return self._set(self.data / getattr(other, 'data', other))

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._set(backend.get_array_module(self.data).clip(self.data, min, max))

    def __setitem__(self, index, value):
        self._check_inplace()
        index = tuple(getattr(i, 'data', i) for i in index) if isinstance(index, tuple) \
            else getattr(index, 'data', index)
        self.data[index] = getattr(value, 'data', value)

    # -- more PyTorch names (minicls/functional_extra.py) ----------------------------------------
    def __iter__(self):
        if self.ndim == 0:
            raise TypeError('iteration over a 0-d tensor')
        return iter(functional_extra.unbind(self))

    def flip(self, *dims):
        return functional_extra.flip(self, *dims)

    def roll(self, shifts, dims=None):
        return functional_extra.roll(self, shifts, dims)

    def repeat(self, *sizes):
        return functional_extra.repeat(self, *sizes)

    def t(self):
        return functional_extra.t(self)

    def split(self, split_size, dim=0):
        return functional_extra.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return functional_extra.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return functional_extra.unbind(self, dim)

    def index_select(self, dim, index):
        return functional_extra.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return functional_extra.masked_fill(self, mask, value)

    def where(self, condition, other):
        return functional.where(condition, self, other)

    def scatter(self, dim, index, src=None, value=None):
        return functional_extra.scatter(self, dim, index, src, value)

    def argsort(self, dim=-1, descending=False):
        return functional_extra.argsort(self, dim, descending)

    def sort(self, dim=-1, descending=False):
        return functional_extra.sort(self, dim, descending)

    def sign(self):
        return functional_extra.sign(self)

    def logsumexp(self, dim, keepdim=False):
        return functional_extra.logsumexp(self, dim, keepdim)

    def norm(self, p='fro', dim=None, keepdim=False):
        return functional_extra.norm(self, p, dim, keepdim)

    def new_full(self, size, fill_value, **kwargs):
        return functional_extra.new_full(self, size, fill_value, **kwargs)

    def new_zeros(self, *size, **kwargs):
        return functional_extra.new_full(self, functional_extra._dims(size), 0, **kwargs)

    def new_ones(self, *size, **kwargs):
        return functional_extra.new_full(self, functional_extra._dims(size), 1, **kwargs)

    new_empty = new_zeros

    def new_tensor(self, data, **kwargs):
        return functional_extra.new_tensor(self, data, **kwargs)

    # in place, outside the graph (as the updates above)
    def scatter_(self, dim, index, src=None, value=None):
        src = src.detach() if hasattr(src, 'detach') else src
        return self._set(functional_extra.scatter(self.detach(), dim, index, src, value).data)

    def masked_fill_(self, mask, value):
        return self._set(functional_extra.masked_fill(self.detach(), mask, value).data)

    def bernoulli_(self, p=0.5):
        return functional_extra.bernoulli_(self, p)
