"""More tensor functions with PyTorch's names: flip, roll, scatter, chunk, split, sort...

They are built like those of ``minicls.functional`` (one op's ``apply``, or a few existing
functions put together) and kept in this file so that one stays short. The Tensor methods
of the same names (``x.flip(1)``, ``x.scatter_(...)``) call these; ``docs/torch_api.md``
lists which PyTorch names minicls has.
"""
import numbers

import numpy as np

from . import backend, dtypes
from . import functional
from .autograd import ops


def _dims(dims):
    """``f(x, 1)``, ``f(x, 0, 1)`` and ``f(x, [0, 1])`` all give a tuple of ints."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims


def _dim(x, dim, op):
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f'{op}: dim {dim} is out of range for a tensor of {x.ndim} dims '
                         f'(shape {tuple(x.shape)})')
    return dim % max(x.ndim, 1)


def _index_array(index, x, op):
    """``index`` (a Tensor or array of integers) as an int64 array on ``x``'s device."""
    array = index.data if functional.is_tensor(index) else np.asarray(index)
    if array.dtype.kind not in 'iu':
        raise TypeError(f'{op}: index must hold integers (int64), got dtype {array.dtype}')
    return backend.to_device(array.astype(dtypes.int64, copy=False), x.device)


# -- rearranging ----------------------------------------------------------------------------------
def flip(x, *dims):
    """``x`` with its elements in reverse order along each of ``dims`` (``torch.flip``)."""
    dims = tuple(_dim(x, d, 'flip') for d in _dims(dims))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f'flip: dim {dims} appears multiple times in the list of dims')
    return ops.Flip.apply(x, dims=dims) if dims else x


def roll(x, shifts, dims=None):
    """Shift the elements by ``shifts`` along ``dims``, wrapping around (``torch.roll``);
    with ``dims=None`` the tensor is rolled as if flattened."""
    if dims is None:
        return roll(x.flatten(), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f'roll: shifts and dims need the same length, got {len(shifts)} '
                           f'and {len(dims)}')
    for shift, dim in zip(shifts, dims):
        dim = _dim(x, dim, 'roll')
        n = x.shape[dim]
        shift = shift % n if n else 0
        if shift:
            head = (slice(None),) * dim
            x = functional.cat([x[head + (slice(n - shift, None),)],
                                x[head + (slice(0, n - shift),)]], dim=dim)
    return x


def repeat(x, *sizes):
    """``x`` tiled ``sizes[i]`` times along each dim (``Tensor.repeat``; leading extra
    sizes add new dims): each dim of size s becomes (r, s) by ``expand``, then r * s."""
    sizes = _dims(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f'repeat: number of repeat dims ({len(sizes)}) can not be smaller '
                           f'than the number of tensor dims ({x.ndim})')
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    paired = x.reshape([v for s in shape for v in (1, s)])
    paired = paired.expand([v for r, s in zip(sizes, shape) for v in (r, s)])
    return paired.reshape([r * s for r, s in zip(sizes, shape)])


def t(x):
    """The transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if x.ndim > 2:
        raise RuntimeError(f't() expects a tensor with <= 2 dimensions, but it has {x.ndim} '
                           '(use transpose(dim0, dim1) or permute)')
    return x if x.ndim < 2 else functional.transpose(x, 0, 1)


# -- splitting ------------------------------------------------------------------------------------
def split(x, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last one may be smaller), or pieces of
    the given list of sizes, which must add up to the dim's size."""
    dim = _dim(x, dim, 'split')
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise RuntimeError(f'split: split_size must be positive, got {size}')
        sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f'split: split_sizes {sizes} add up to {sum(sizes)}, '
                               f'but dim {dim} has size {n}')
    head, start, pieces = (slice(None),) * dim, 0, []
    for size in sizes:
        pieces.append(x[head + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """At most ``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (the last one
    may be smaller, and there may be fewer pieces, as in PyTorch)."""
    if chunks <= 0:
        raise RuntimeError(f'chunk: chunks must be positive, got {chunks}')
    n = x.shape[_dim(x, dim, 'chunk')]
    return split(x, max(-(-n // chunks), 1), dim)


def unbind(x, dim=0):
    """The slices of ``x`` along ``dim``, that dim removed: ``(x[0], x[1], ...)`` for dim 0."""
    dim = _dim(x, dim, 'unbind')
    return tuple(x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim]))


# -- selecting and writing ------------------------------------------------------------------------
def index_select(x, dim, index):
    """The entries ``index`` (1-D integers) of ``x`` along ``dim``."""
    dim = _dim(x, dim, 'index_select')
    index = _index_array(index, x, 'index_select')
    if index.ndim > 1:
        raise IndexError(f'index_select: index should have 1 dimension, got shape {index.shape}')
    return functional.getitem(x, (slice(None),) * dim + (index.reshape(-1),))


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the bool ``mask`` (broadcast to x) is True; x's dtype."""
    mask = mask if functional.is_tensor(mask) else functional._tensor(np.asarray(mask))
    if mask.dtype != dtypes.bool:
        raise RuntimeError(f'masked_fill: expected a bool mask, got {mask.dtype} '
                           '(compare first, e.g. x > 0)')
    if functional.is_tensor(value):      # a 0-d tensor: its gradient is kept
        value = value.to(x.dtype)
    else:
        value = functional._tensor(backend.get_array_module(x.data).asarray(value, dtype=x.dtype))
    return ops.Where.apply(mask, value, x)


def scatter(x, dim, index, src=None, value=None):
    """``x`` with ``src`` (a tensor, or one number ``value``) written at ``index`` along
    ``dim`` (``torch.scatter``): for 2-D and dim 1, ``out[i][index[i][j]] = src[i][j]``.

    ``index`` has x's number of dims and is no larger than x (except along ``dim``) nor than
    ``src``; its values must be in [0, x.shape[dim]).
    """
    if src is None and value is None:
        raise TypeError('scatter: give src (a tensor or a number) or value')
    src = value if src is None else src
    dim = _dim(x, dim, 'scatter')
    index = _index_array(index, x, 'scatter')
    if index.ndim != x.ndim:
        raise RuntimeError(f'scatter: index needs as many dims as the tensor ({x.ndim}), got '
                           f'shape {tuple(index.shape)} for a tensor of shape {tuple(x.shape)}')
    xp = backend.get_array_module(x.data)
    if functional.is_tensor(src):
        if src.dtype != x.dtype:
            raise RuntimeError(f'scatter: expected src of the tensor\'s dtype {x.dtype}, got '
                               f'{src.dtype} (convert it with .to({x.dtype}))')
        limit = src.shape
    elif isinstance(src, (numbers.Number, np.generic)):
        src, limit = functional._tensor(xp.full(index.shape, src, dtype=x.dtype)), index.shape
    else:
        raise TypeError(f'scatter: src must be a Tensor or a number, got {type(src).__name__}')
    for d, size in enumerate(index.shape):
        if size > limit[d] or (d != dim and size > x.shape[d]):
            raise RuntimeError(f'scatter: index of shape {tuple(index.shape)} is larger than '
                               f'src {tuple(limit)} or the tensor {tuple(x.shape)} in dim {d}')
    if index.size and (int(index.min()) < 0 or int(index.max()) >= x.shape[dim]):
        raise IndexError(f'scatter: index values must be in [0, {x.shape[dim] - 1}] for dim '
                         f'{dim} of size {x.shape[dim]}, got {int(index.min())}..'
                         f'{int(index.max())}')
    return ops.Scatter.apply(x, src, dim=dim, index=index)


# -- sorting --------------------------------------------------------------------------------------
def argsort(x, dim=-1, descending=False):
    """The indices that sort ``x`` along ``dim`` (ties keep their order: a stable sort)."""
    xp = backend.get_array_module(x.data)
    data = -x.data if descending and x.dtype != dtypes.bool else x.data
    return functional._tensor(xp.argsort(data, axis=_dim(x, dim, 'argsort'), kind='stable')
                    .astype(dtypes.int64))


def sort(x, dim=-1, descending=False):
    """``(values, indices)``: ``x`` sorted along ``dim``; values carry the gradient."""
    indices = argsort(x, dim, descending)
    return functional.gather(x, dim, indices), indices


# -- math -----------------------------------------------------------------------------------------
def sign(x):
    """-1, 0 or 1 by the sign of each element; its gradient is 0."""
    return ops.Sign.apply(x)


def square(x):
    return x * x


def std(x, dim=None, unbiased=True, keepdim=False):
    return functional.var(x, dim, unbiased, keepdim) ** 0.5


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) along ``dim``, computed as m + log(sum(exp(x - m))), m = max (stable;
    m is detached: its gradient through the two terms cancels exactly)."""
    m = functional.amax(x, dim=dim, keepdim=True).detach()
    out = functional.log(functional.sum(functional.exp(x - m), dim=dim, keepdim=keepdim))
    return out + (m if keepdim else functional.amax(x, dim=dim).detach())


def norm(x, p='fro', dim=None, keepdim=False):
    """The p-norm (sum |x|^p)^(1/p) over ``dim`` (all elements when None); 'fro' is p=2."""
    if p in ('fro', 2):
        return functional.sqrt(functional.sum(x * x, dim=dim, keepdim=keepdim))
    if isinstance(p, str) or not p > 0 or p == float('inf'):
        raise ValueError(f'norm: p must be a positive finite number or \'fro\', got {p!r}')
    if p == 1:
        return functional.sum(functional.abs(x), dim=dim, keepdim=keepdim)
    return functional.sum(functional.abs(x) ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)


def bmm(a, b):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f'bmm: expected two 3-D tensors with the same batch size, got '
                           f'shapes {tuple(a.shape)} and {tuple(b.shape)}')
    return functional.matmul(a, b)


# -- small helpers ------------------------------------------------------------------------------
def numel(x):
    return x.numel()


def new_full(x, size, fill_value, dtype=None, device=None, requires_grad=False):
    """A new tensor of ``size`` filled with ``fill_value``, of x's dtype and device
    unless given (``Tensor.new_full``; ``new_zeros``/``new_ones``/``new_empty`` likewise)."""
    from .creation import full
    return full(tuple(size), fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def new_tensor(x, data, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=dtype or x.dtype, device=device or x.device,
                  requires_grad=requires_grad)


def bernoulli_(x, p=0.5):
    """Fill ``x`` in place with 1 (probability p) or 0, from minicls's random generator."""
    from .random import generator
    p = backend.to_numpy(p.data) if functional.is_tensor(p) else p
    draws = generator().random(x.shape) < p
    return x._set(backend.to_device(draws.astype(x.dtype), x.device))
