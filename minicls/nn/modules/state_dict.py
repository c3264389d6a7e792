"""Saving and loading a Module's state: ``state_dict()`` and ``load_state_dict()``.

A mixin of ``Module`` (kept in its own file to keep ``module.py`` short). The keys are the
dotted paths of PyTorch (``layer1.0.bn1.running_mean``); the values are host NumPy copies, so a
state dict can be saved anywhere and loaded into a model on any device.
"""
import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from ... import backend
from ...tensor import Tensor


class _IncompatibleKeys(namedtuple('IncompatibleKeys', ['missing_keys', 'unexpected_keys'])):
    """What ``load_state_dict`` returns: the keys it could not fill and the keys it did not use."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return '<All keys matched successfully>'
        return super().__repr__()


class StateDictMixin:
    """``state_dict`` / ``load_state_dict`` for ``Module`` (uses its ``_parameters``,
    ``_buffers``, ``_non_persistent_buffers_set`` and ``_modules``)."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else _host_copy(param)
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else _host_copy(buf)

    def state_dict(self, destination=None, prefix='', keep_vars=False):
        """An OrderedDict dotted name -> host NumPy array (a copy): parameters, then
        persistent buffers, then each child's entries under ``'<child>.'``.

        ``keep_vars=True`` returns the Tensors themselves instead of copies.
        """
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + '.',
                                  keep_vars=keep_vars)
        return destination

    def _register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module's entries are loaded (torch's
        signature; ``local_metadata`` is ``{}`` and ``strict`` is None here).

        The hook may change ``state_dict`` in place (a private copy): a ViT uses one to
        resize the ``pos_embed`` of a checkpoint trained at another resolution. Returns a
        handle whose ``remove()`` takes the hook out.
        """
        from .module import RemovableHandle
        hooks = self.__dict__.setdefault('_load_state_dict_pre_hooks', OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def _load_from_state_dict(self, state_dict, prefix, missing_keys, error_msgs):
        """Copy this module's own entries (not the children's) from ``state_dict``, after
        running the pre-load hooks."""
        for hook in list(self.__dict__.get('_load_state_dict_pre_hooks', {}).values()):
            hook(state_dict, prefix, {}, None, missing_keys, [], error_msgs)
        local = [(n, p) for n, p in self._parameters.items() if p is not None]
        local += [(n, b) for n, b in self._buffers.items()
                  if b is not None and n not in self._non_persistent_buffers_set]
        for name, tensor in local:
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else value
            shape = tuple(np.shape(value))
            if shape != tensor.shape:
                error_msgs.append(f'size mismatch for {key}: copying a param with shape '
                                  f'{shape} from checkpoint, the shape in current model is '
                                  f'{tensor.shape}.')
                continue
            if not isinstance(value, np.ndarray) and backend.get_array_module(value) is np:
                value = np.asarray(value)  # a list, a number, a torch CPU tensor...
            # Copy into the existing array (on its device), keeping the module's dtype.
            tensor.data[...] = backend.to_device(value, tensor.device)

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` (name -> array or Tensor) into this module.

        Returns ``(missing_keys, unexpected_keys)``. With ``strict=True`` either list being
        non-empty raises. A shape mismatch always raises, naming the key and both shapes.
        """
        missing_keys, unexpected_keys, error_msgs = self._load_matching(state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, 'Unexpected key(s) in state_dict: ' +
                                  ', '.join(f'"{k}"' for k in unexpected_keys) + '. ')
            if missing_keys:
                error_msgs.insert(0, 'Missing key(s) in state_dict: ' +
                                  ', '.join(f'"{k}"' for k in missing_keys) + '. ')
        if error_msgs:
            raise RuntimeError(f'Error(s) in loading state_dict for {type(self).__name__}:\n\t'
                               + '\n\t'.join(error_msgs))
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    def _load_matching(self, state_dict):
        """Copy every entry whose key and shape fit; raise nothing.

        Returns ``(missing_keys, unexpected_keys, error_msgs)``; ``error_msgs`` holds one
        ``'size mismatch for <key>: ...'`` line per entry skipped for its shape.
        ``load_state_dict`` raises on these; ``minicls.io.load_state_dict``
        (``load_from``, as mmengine's) logs them instead.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f'Expected state_dict to be dict-like, got {type(state_dict)}.')
        state_dict = OrderedDict(state_dict)  # our own copy: hooks may add defaults to it
        missing_keys, error_msgs, used = [], [], set()

        def load(module, prefix):
            module._load_from_state_dict(state_dict, prefix, missing_keys, error_msgs)
            for name, tensor in itertools.chain(module._parameters.items(),
                                                module._buffers.items()):
                if tensor is not None:
                    used.add(prefix + name)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + '.')
        load(self, '')
        unexpected_keys = [k for k in state_dict if k not in used]
        return missing_keys, unexpected_keys, error_msgs


def _host_copy(tensor):
    """A NumPy array copy of a Tensor's data, on the host."""
    return np.array(backend.to_numpy(tensor.data), copy=True)
