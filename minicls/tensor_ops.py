"""The math methods of ``Tensor`` (``x + y``, ``x.sum(1)``, ``x.view(-1)``...).

Each one is a one-line call of the same-named function in ``minicls.functional``, so a method
and its function (``x.exp()`` and ``minicls.exp(x)``) can never disagree.
"""
from . import functional as F
from . import functional_extra as FX


class TensorOps:
    # -- operators ------------------------------------------------------------------------------
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    # -- comparisons: no gradient, a bool tensor ------------------------------------------------
    def _compare(self, other, op):
        other = F.as_tensor_like(other, self)
        return type(self)(op(self.data, other.data))

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
        return type(self)(~self.data)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b)

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self):
        return type(self)(self.data.any())

    def all(self):
        return type(self)(self.data.all())

    def isnan(self):
        return type(self)(self.data != self.data)

    # -- math (each is the function of the same name in minicls.functional) -----------------
    def add(self, *args, **kwargs):
        return F.add(self, *args, **kwargs)

    def sub(self, *args, **kwargs):
        return F.sub(self, *args, **kwargs)

    def mul(self, *args, **kwargs):
        return F.mul(self, *args, **kwargs)

    def div(self, *args, **kwargs):
        return F.div(self, *args, **kwargs)

    def pow(self, *args, **kwargs):
        return F.pow(self, *args, **kwargs)

    def matmul(self, *args, **kwargs):
        return F.matmul(self, *args, **kwargs)

    def abs(self, *args, **kwargs):
        return F.abs(self, *args, **kwargs)

    def exp(self, *args, **kwargs):
        return F.exp(self, *args, **kwargs)

    def log(self, *args, **kwargs):
        return F.log(self, *args, **kwargs)

    def sqrt(self, *args, **kwargs):
        return F.sqrt(self, *args, **kwargs)

    def neg(self, *args, **kwargs):
        return F.neg(self, *args, **kwargs)

    def clamp(self, *args, **kwargs):
        return F.clamp(self, *args, **kwargs)

    def relu(self, *args, **kwargs):
        return F.relu(self, *args, **kwargs)

    def sigmoid(self, *args, **kwargs):
        return F.sigmoid(self, *args, **kwargs)

    def tanh(self, *args, **kwargs):
        return F.tanh(self, *args, **kwargs)

    def softmax(self, *args, **kwargs):
        return F.softmax(self, *args, **kwargs)

    def log_softmax(self, *args, **kwargs):
        return F.log_softmax(self, *args, **kwargs)

    def sum(self, *args, **kwargs):
        return F.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return F.mean(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return F.var(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return F.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return F.min(self, *args, **kwargs)

    def amax(self, *args, **kwargs):
        return F.amax(self, *args, **kwargs)

    def amin(self, *args, **kwargs):
        return F.amin(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return F.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return F.argmin(self, *args, **kwargs)

    def topk(self, *args, **kwargs):
        return F.topk(self, *args, **kwargs)

    def gather(self, *args, **kwargs):
        return F.gather(self, *args, **kwargs)

    clip = clamp

    def std(self, dim=None, unbiased=True, keepdim=False):
        return F.var(self, dim, unbiased, keepdim) ** 0.5

    def square(self):
        return self * self

    # -- shape ----------------------------------------------------------------------------------
    def reshape(self, *args, **kwargs):
        return F.reshape(self, *args, **kwargs)

    def flatten(self, *args, **kwargs):
        return F.flatten(self, *args, **kwargs)

    def permute(self, *args, **kwargs):
        return F.permute(self, *args, **kwargs)

    def transpose(self, *args, **kwargs):
        return F.transpose(self, *args, **kwargs)

    def unsqueeze(self, *args, **kwargs):
        return F.unsqueeze(self, *args, **kwargs)

    def squeeze(self, *args, **kwargs):
        return F.squeeze(self, *args, **kwargs)

    def expand(self, *args, **kwargs):
        return F.expand(self, *args, **kwargs)

    view = reshape

    def view_as(self, other):
        return F.reshape(self, other.shape)

    def expand_as(self, other):
        return F.expand(self, other.shape)

    # -- in-place updates (for optimisers and init, outside the graph) --------------------------
    def _check_inplace(self):
        from .autograd.grad_mode import is_grad_enabled
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
        from .backend import get_array_module
        return self._set(get_array_module(self.data).clip(self.data, min, max))

    def __setitem__(self, index, value):
        self._check_inplace()
        index = tuple(getattr(i, 'data', i) for i in index) if isinstance(index, tuple) \
            else getattr(index, 'data', index)
        self.data[index] = getattr(value, 'data', value)

    # -- more PyTorch names (minicls/functional_extra.py) ----------------------------------------
    def __iter__(self):
        if self.ndim == 0:
            raise TypeError('iteration over a 0-d tensor')
        return iter(FX.unbind(self))

    def flip(self, *dims):
        return FX.flip(self, *dims)

    def roll(self, shifts, dims=None):
        return FX.roll(self, shifts, dims)

    def repeat(self, *sizes):
        return FX.repeat(self, *sizes)

    def t(self):
        return FX.t(self)

    def split(self, split_size, dim=0):
        return FX.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return FX.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return FX.unbind(self, dim)

    def index_select(self, dim, index):
        return FX.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return FX.masked_fill(self, mask, value)

    def where(self, condition, other):
        return F.where(condition, self, other)

    def scatter(self, dim, index, src=None, value=None):
        return FX.scatter(self, dim, index, src, value)

    def argsort(self, dim=-1, descending=False):
        return FX.argsort(self, dim, descending)

    def sort(self, dim=-1, descending=False):
        return FX.sort(self, dim, descending)

    def sign(self):
        return FX.sign(self)

    def logsumexp(self, dim, keepdim=False):
        return FX.logsumexp(self, dim, keepdim)

    def norm(self, p='fro', dim=None, keepdim=False):
        return FX.norm(self, p, dim, keepdim)

    def new_full(self, size, fill_value, **kwargs):
        return FX.new_full(self, size, fill_value, **kwargs)

    def new_zeros(self, *size, **kwargs):
        return FX.new_full(self, FX._dims(size), 0, **kwargs)

    def new_ones(self, *size, **kwargs):
        return FX.new_full(self, FX._dims(size), 1, **kwargs)

    new_empty = new_zeros

    def new_tensor(self, data, **kwargs):
        return FX.new_tensor(self, data, **kwargs)

    # in place, outside the graph (as the updates above)
    def scatter_(self, dim, index, src=None, value=None):
        src = src.detach() if hasattr(src, 'detach') else src
        return self._set(FX.scatter(self.detach(), dim, index, src, value).data)

    def masked_fill_(self, mask, value):
        return self._set(FX.masked_fill(self.detach(), mask, value).data)

    def bernoulli_(self, p=0.5):
        return FX.bernoulli_(self, p)
