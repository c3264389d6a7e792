"""``Tensor``: an array of the active backend, plus what autograd needs.

A Tensor holds ``data`` (a NumPy or CuPy array), ``requires_grad``, ``grad`` (a Tensor filled
by ``backward``) and ``grad_fn`` (the graph node that made it; None for a leaf). Every method
that computes something calls a function of ``minicls.functional``, which applies one op.
"""
import numpy as np

from . import backend, dtypes
from .autograd import engine
from .autograd.function import Function
from .autograd.ops import Cast, ToDevice
from .tensor_ops import TensorOps


def _is_dtype_name(name):
    try:
        np.dtype(name)
        return True
    except TypeError:
        return False


class Tensor(TensorOps):
    __array_priority__ = 1000  # so that `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        xp = backend.get_array_module(data)
        self.data = data if isinstance(data, xp.ndarray) else np.asarray(data)
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    # -- autograd -------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not self.is_floating_point():
            raise RuntimeError(f'Only floating point tensors can require gradients, this one is '
                               f'{self.dtype}. Convert it first, e.g. x.float().')
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True

    def backward(self, gradient=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``."""
        if not self.requires_grad:
            raise RuntimeError('element 0 of tensors does not require grad and does not have a '
                               'grad_fn: nothing to differentiate. Did you create the inputs '
                               'with requires_grad=True, or run under no_grad()?')
        xp = backend.get_array_module(self.data)
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(f'grad can be implicitly created only for scalar outputs, but '
                                   f'this tensor has shape {self.shape}. Reduce it first '
                                   '(e.g. loss.mean()) or pass gradient=<tensor of that shape>.')
            grad = xp.ones(self.shape, dtype=self.dtype)
        else:
            grad = gradient.data if isinstance(gradient, Tensor) else xp.asarray(gradient)
            if grad.shape != self.shape:
                raise RuntimeError(f'gradient has shape {grad.shape}, but the tensor has '
                                   f'shape {self.shape}')
            grad = grad.astype(self.dtype, copy=False)
        engine.backward(self, grad, retain_graph=retain_graph)

    def _accumulate_grad(self, g):
        if self.grad is None:
            # A gradient may be a view of another array (broadcast, reshape): own it.
            self.grad = Tensor(g.copy() if g.base is not None else g)
        else:
            self.grad = Tensor(self.grad.data + g)

    def detach(self):
        """The same data, cut from the graph (no copy)."""
        return Tensor(self.data)

    # -- properties -----------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_cuda(self):
        return self.device != 'cpu'

    @property
    def T(self):  # noqa: N802
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return int(self.data.size)

    def dim(self):
        return self.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError('len() of a 0-d tensor')
        return self.shape[0]

    def is_floating_point(self):
        return self.dtype.kind == 'f'

    def element_size(self):
        return self.dtype.itemsize

    # -- conversion -----------------------------------------------------------------------------
    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f'a Tensor with {self.numel()} elements cannot be converted to '
                               'a Python number')
        return backend.to_numpy(self.data).reshape(()).item()

    def numpy(self):
        """A host NumPy array (a copy when the tensor lives on a GPU)."""
        return backend.to_numpy(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)`` or ``to(device, dtype)``; differentiable."""
        out = self
        for arg in list(args) + list(kwargs.values()):
            if arg is None:
                continue
            if isinstance(arg, str) and not _is_dtype_name(arg):
                device = backend.parse_device(arg)
                if device != out.device:
                    out = ToDevice.apply(out, device=device)
            else:
                dtype = np.dtype(arg)
                if dtype != out.dtype:
                    out = Cast.apply(out, dtype=dtype) if out.requires_grad else \
                        Tensor(out.data.astype(dtype))
        return out

    def cpu(self):
        return self.to('cpu')

    def cuda(self, device=None):
        return self.to('cuda' if device is None else f'cuda:{device}')

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool)

    def type_as(self, other):
        return self.to(other.dtype)

    def contiguous(self):
        return self

    def clone(self):
        return self * 1 if self.requires_grad else Tensor(self.data.copy())

    # -- printing -------------------------------------------------------------------------------
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=', ', prefix='tensor(', precision=4)
        extras = []
        if self.device != 'cpu':
            extras.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool):
            extras.append(f'dtype={self.dtype}')
        if self.grad_fn is not None:
            extras.append(f'grad_fn=<{self.grad_fn.name()}>')
        elif self.requires_grad:
            extras.append('requires_grad=True')
        return 'tensor(' + body + ''.join(', ' + e for e in extras) + ')'

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f'Boolean value of a Tensor with {self.numel()} elements is '
                               'ambiguous; use .any() or .all()')
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return int(self.item())


Function.tensor_class = Tensor  # what every op's result is (see Function.tensor_class)
