"""``Optimizer``: the base class of SGD, Adam and AdamW (PyTorch's design).

An optimizer holds ``param_groups``: a list of dicts, each with a list of parameters under
``'params'`` and its own hyper-parameters (``lr``, ``weight_decay``...). Schedulers change those
numbers between steps (``group['lr'] = ...``). ``state`` keeps per-parameter buffers (momentum,
Adam's moments), keyed by the parameter itself.

Updates work on the raw arrays (``p.data``, ``p.grad.data``), in place, with
``xp = get_array_module(p.data)``, so the same code runs on NumPy and on CuPy.
"""
from minicls.backend import to_device, to_numpy


class Optimizer:
    """Base class: param groups, ``zero_grad``, ``state_dict``/``load_state_dict``.

    Args:
        params: an iterable of Tensors, or of dicts ``{'params': [...], 'lr': ...}`` (groups).
        defaults (dict): the hyper-parameters a group gets when it does not set them.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # id(param) -> dict of arrays / numbers
        self.param_groups = []
        params = list(params)
        if len(params) == 0:
            raise ValueError('optimizer got an empty parameter list: does the model have '
                             'parameters that require grad?')
        if not isinstance(params[0], dict):
            params = [{'params': params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        params = group['params']
        group['params'] = [params] if hasattr(params, 'data') else list(params)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        seen = {id(p) for g in self.param_groups for p in g['params']}
        if any(id(p) in seen for p in group['params']):
            raise ValueError('some parameters appear in more than one parameter group')
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients (``p.grad = None``, as PyTorch's default)."""
        for group in self.param_groups:
            for p in group['params']:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data[...] = 0

    def step(self):
        raise NotImplementedError

    def _params_with_grad(self, group):
        return [p for p in group['params'] if p.grad is not None]

    # -- saving and loading ------------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {name: host array or number}}, 'param_groups': [...]}``.

        Parameters are numbered in the order of the groups (as PyTorch), so the dict holds
        only numbers and NumPy arrays: a checkpoint can store it without pickle.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != 'params'}
            packed['params'] = []
            for p in group['params']:
                index.setdefault(id(p), len(index))
                packed['params'].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group['params']:
                if id(p) in self.state:
                    state[index[id(p)]] = {
                        k: (to_numpy(v) if hasattr(v, 'shape') else v)
                        for k, v in self.state[id(p)].items()}
        return {'state': state, 'param_groups': groups}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (buffers go to each parameter's device).

        A state that does not fit raises ValueError, with PyTorch's words where it has them:
        another number of parameter groups or of parameters in a group, groups without this
        optimizer's hyper-parameters (another optimizer's state), a buffer of another shape.
        """
        groups = state_dict['param_groups']
        if len(groups) != len(self.param_groups):
            raise ValueError(f'loaded state dict has a different number of parameter groups '
                             f'({len(groups)}; this optimizer has {len(self.param_groups)})')
        params = {}
        for n, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved['params']) != len(group['params']):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group (group {n}: "
                                 f'{len(saved["params"])} parameters, this optimizer\'s has '
                                 f'{len(group["params"])})')
            lacks = sorted(set(self.defaults) - set(saved))
            if lacks:
                raise ValueError(f'loaded state dict was not saved by {type(self).__name__}: '
                                 f'its parameter group {n} has no {", ".join(lacks)}')
            for i, p in zip(saved['params'], group['params']):
                params[int(i)] = p
        for i, buffers in state_dict['state'].items():
            shape = tuple(params[int(i)].shape)
            for k, v in buffers.items():
                if hasattr(v, 'shape') and v.ndim > 0 and tuple(v.shape) != shape:
                    raise ValueError(f'loaded state dict has a {k} of shape {tuple(v.shape)} '
                                     f'for parameter {i}, of shape {shape}')
        for saved, group in zip(groups, self.param_groups):  # all fits: nothing half loaded
            group.update({k: v for k, v in saved.items() if k != 'params'})
        self.state = {}
        for i, buffers in state_dict['state'].items():
            p = params[int(i)]
            self.state[id(p)] = {
                k: (to_device(v.astype(p.data.dtype, copy=True), p.device)
                    if hasattr(v, 'shape') and v.ndim > 0 else v)
                for k, v in buffers.items()}

    def __repr__(self):
        lines = [f'{type(self).__name__} (']
        for i, group in enumerate(self.param_groups):
            lines.append(f'Parameter Group {i}')
            for key in sorted(k for k in group if k != 'params'):
                lines.append(f'    {key}: {group[key]}')
        return '\n'.join(lines) + '\n)'
