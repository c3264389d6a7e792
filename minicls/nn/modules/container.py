"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, as in PyTorch.

They only hold children; the children's names (``'0'``, ``'1'``... or the dict keys) become
part of the state_dict keys, e.g. ``layer1.0.conv1.weight``.
"""
from collections import OrderedDict

from .module import Module


def _index(idx, size, what):
    """A Python index (negative allowed) -> 0..size-1, with an IndexError that says the size."""
    idx = int(idx)
    if not -size <= idx < size:
        raise IndexError(f'index {idx} is out of range for a {what} of length {size}')
    return idx % size


class Sequential(Module):
    """Runs its children one after the other: ``forward(x) = m_n(...m_1(m_0(x)))``.

    ``Sequential(a, b, c)`` names the children ``'0'``, ``'1'``, ``'2'``;
    ``Sequential(OrderedDict(conv=..., relu=...))`` uses the given names.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):  # noqa: A002 (PyTorch's name)
        for module in self:
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), 'Sequential')]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self), 'Sequential')]
        setattr(self, key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else
                    [keys[_index(idx, len(self), 'Sequential')]]):
            del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end (named by the current length)."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list's would not be).

    No ``forward``: the owner decides how to call them.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), 'ModuleList'))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), 'ModuleList')), module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        del modules[idx]
        self._modules.clear()  # renumber, as PyTorch does: names stay '0'..'n-1'
        self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)


class ModuleDict(Module):
    """A dict of modules (insertion ordered) whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f'{key!r} is not in this ModuleDict; keys: {list(self._modules)}')
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        items = modules.items() if hasattr(modules, 'items') else modules
        for key, module in items:
            self[key] = module
