"""``Module``: the base class of every layer and model, as in PyTorch.

A Module keeps three ordered tables, filled by plain attribute assignment::

    self.weight = Parameter(...)        # -> self._parameters['weight']
    self.register_buffer('mean', t)     # -> self._buffers['mean'] (saved, not trained)
    self.conv1 = Conv2d(...)            # -> self._modules['conv1']

Everything else is a walk over these tables: ``named_parameters()`` yields ``'conv1.weight'``,
``state_dict()`` saves parameters then persistent buffers then children (PyTorch's key order),
``train()`` flips ``training`` everywhere, ``to('cuda')`` moves every array in place.
"""
import itertools
from collections import OrderedDict

import numpy as np

from ... import backend
from ...tensor import Tensor
from ..parameter import Parameter
from .state_dict import StateDictMixin


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` takes the hook out again."""
    _next_id = itertools.count()

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(self._next_id)

    def remove(self):
        self.hooks.pop(self.id, None)


def _addindent(text, spaces):
    lines = text.split('\n')
    return lines[0] if len(lines) == 1 else \
        '\n'.join([lines[0]] + [' ' * spaces + line for line in lines[1:]])


def _parse_to(args, kwargs):
    """``to('cuda')``, ``to(float64)``, ``to('cuda', float64)``, ``to(tensor)`` -> device, dtype."""
    device = dtype = None
    unknown = set(kwargs) - {'device', 'dtype', 'non_blocking', 'copy'}
    if unknown:
        raise TypeError(f'to() got unexpected keyword argument(s) {sorted(unknown)}')
    for arg in list(args) + [kwargs.get('device'), kwargs.get('dtype')]:
        if arg is None:
            continue
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) and (arg == 'cpu' or arg.startswith('cuda')):
            device = backend.parse_device(arg)
        else:
            dtype = np.dtype(arg)
            if dtype.kind != 'f':
                raise TypeError(f'Module.to only accepts floating point dtypes, but got {dtype}')
    return device, dtype


class Module(StateDictMixin):
    """Base class for all layers and models. Subclasses call ``super().__init__()`` first and
    write ``forward``; calling the module (``m(x)``) runs the hooks and ``forward``."""
    dump_patches = False
    _version = 1

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these tables to exist.
        object.__setattr__(self, 'training', True)
        object.__setattr__(self, '_parameters', OrderedDict())
        object.__setattr__(self, '_buffers', OrderedDict())
        object.__setattr__(self, '_non_persistent_buffers_set', set())
        object.__setattr__(self, '_modules', OrderedDict())
        object.__setattr__(self, '_forward_pre_hooks', OrderedDict())
        object.__setattr__(self, '_forward_hooks', OrderedDict())
        object.__setattr__(self, '_load_state_dict_pre_hooks', OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function: define forward(self, x) in the class.')

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` runs before forward; it may return new args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` runs after forward; it may return a new output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- registration --------------------------------------------------------------------------
    def _check_init(self, what):
        if '_parameters' not in self.__dict__:
            raise AttributeError(f'cannot assign {what} before Module.__init__() call: call '
                                 f'super().__init__() first in {type(self).__name__}.__init__')

    def _check_name(self, name, table):
        if not isinstance(name, str):
            raise TypeError(f'{table} name should be a string, but got {type(name).__name__}')
        if '.' in name or name == '':
            raise KeyError(f'{table} name can\'t contain "." and can\'t be empty, got {name!r}')
        if hasattr(self, name) and name not in getattr(self, '_' + table + 's', {}):
            raise KeyError(f'attribute {name!r} already exists')

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an absent one like ``bias=False``)."""
        self._check_init('parameters')
        self._check_name(name, 'parameter')
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required); wrap it: "
                            'nn.Parameter(tensor)')
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a Tensor that is state but not trained (BatchNorm's ``running_mean``).

        ``persistent=False`` keeps it out of ``state_dict``.
        """
        self._check_init('buffers')
        self._check_name(name, 'buffer')
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module, reachable as ``self.<name>`` (None keeps an empty slot)."""
        self._check_init('child module')
        if module is not None and not isinstance(module, Module):
            raise TypeError(f'{type(module).__name__} is not a Module subclass')
        self._check_name(name, 'module')
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        params = self.__dict__.get('_parameters')
        if isinstance(value, Parameter):
            self._check_init('parameters')
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                '(nn.Parameter or None expected)')
            params[name] = None
        elif isinstance(value, Module):
            self._check_init('child module')
            self._forget(name)
            self._modules[name] = value
        elif name in self.__dict__.get('_modules', {}):
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (nn.Module or None expected)")
            self._modules[name] = None
        elif name in self.__dict__.get('_buffers', {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                '(Tensor or None expected)')
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Remove ``name`` from every table (before it is registered in another one)."""
        self.__dict__.pop(name, None)
        for table in ('_parameters', '_buffers', '_modules'):
            self.__dict__[table].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the three tables.
        for table in ('_parameters', '_buffers', '_modules'):
            items = self.__dict__.get(table)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in ('_parameters', '_buffers', '_modules'):
            if name in self.__dict__.get(table, {}):
                del self.__dict__[table][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + \
            list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # -- iterators -----------------------------------------------------------------------------
    def _named_members(self, get_members, prefix='', recurse=True, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (module_prefix + '.' if module_prefix else '') + name, value

    def named_parameters(self, prefix='', recurse=True, remove_duplicate=True):
        """Yield ``(dotted name, Parameter)``: own parameters first, then each child's."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix='', recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, memo=None, prefix='', remove_duplicate=True):
        """Yield ``(dotted name, module)`` for self (name ``prefix``) and all descendants,
        depth first, in registration order; a module shared twice is yielded once."""
        if memo is None:
            memo = set()
        if remove_duplicate and id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub_prefix = prefix + ('.' if prefix else '') + name
            yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def get_submodule(self, target):
        """``model.get_submodule('layer1.0.conv1')``; '' is the module itself."""
        module = self
        for part in target.split('.') if target else []:
            if part not in module._modules:
                raise AttributeError(f'{type(module).__name__} has no submodule {part!r} '
                                     f'(while looking up {target!r})')
            module = module._modules[part]
        return module

    # -- modes and gradients -------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode here and in every child."""
        if not isinstance(mode, bool):
            raise ValueError('training mode is expected to be boolean')
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """Evaluation mode: BatchNorm uses running stats, Dropout does nothing."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch ``requires_grad`` on every parameter (False freezes the module)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear ``.grad`` of every parameter (set to None, or fill with zeros)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- devices and dtypes --------------------------------------------------------------------
    def _apply(self, fn):
        """Replace every parameter's and buffer's array (and grad) by ``fn(array)`` in place, so
        that the Parameter objects an optimiser holds stay the same."""
        for module in self.modules():
            for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
                if tensor is None:
                    continue
                tensor.data = fn(tensor.data)
                if tensor.grad is not None:
                    tensor.grad.data = fn(tensor.grad.data)
        return self

    def to(self, *args, **kwargs):
        """``to('cuda')``, ``to('cpu')``, ``to(minicls.float64)`` or both. Moves in place and
        returns self. A dtype changes floating point tensors only (counters stay int64)."""
        device, dtype = _parse_to(args, kwargs)

        def convert(array):
            if dtype is not None and array.dtype.kind == 'f':
                array = array.astype(dtype)
            if device is not None:
                array = backend.to_device(array, device)
            return array
        return self._apply(convert)

    def cuda(self, device=None):
        return self.to('cuda' if device is None else f'cuda:{device}')

    def cpu(self):
        return self.to('cpu')

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    # -- printing ------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of ``repr``; layers override it."""
        return ''

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split('\n') if extra else []
        for name, module in self._modules.items():
            lines.append(f'({name}): ' + _addindent(repr(module), 2))
        if not self._modules:
            return f'{self._get_name()}({extra})'
        return self._get_name() + '(\n  ' + '\n  '.join(lines) + '\n)'
