"""A registry is a table from names to classes (or functions).

mmpretrain builds every object from a config dict such as ``dict(type='ResNet', depth=18)``.
The registry is what turns the string ``'ResNet'`` back into the class: classes put themselves
in the table with a decorator, and ``build`` looks the name up and calls it with the other keys::

    MODELS = Registry('model')

    @MODELS.register_module()
    class ResNet(Module): ...

    net = MODELS.build(dict(type='ResNet', depth=18))   # == ResNet(depth=18)
"""
import difflib
import importlib


class Registry:
    """A name -> class table with ``register_module`` and ``build``.

    Args:
        name (str): what the registry holds, used in messages (``'model'``).
        locations (list[str]): modules imported on first lookup, so that the decorators of the
            built-in classes have run before anything is built (users import nothing by hand).
    """

    def __init__(self, name, locations=()):
        self.name = name
        self._module_dict = {}
        self._locations = list(locations)
        self._imported = not self._locations

    # -- the table ---------------------------------------------------------------------------
    @property
    def module_dict(self):
        self._import_locations()
        return self._module_dict

    def __len__(self):
        return len(self.module_dict)

    def __contains__(self, name):
        return self.get(name) is not None

    def __iter__(self):
        return iter(self.module_dict)

    def keys(self):
        return self.module_dict.keys()

    def __repr__(self):
        return f'Registry(name={self.name!r}, items={sorted(self.module_dict)})'

    def _import_locations(self):
        if not self._imported:
            self._imported = True
            for location in self._locations:
                importlib.import_module(location)

    def get(self, name):
        """The class registered as ``name``, or None."""
        return self.module_dict.get(name)

    # -- registering -------------------------------------------------------------------------
    def register_module(self, name=None, force=False, module=None):
        """Register a class or function, as a decorator or as a plain call.

        ``@REG.register_module()``, ``@REG.register_module('Alias')``,
        ``@REG.register_module(['A', 'B'])`` or ``REG.register_module(module=cls)``.
        A name that is taken raises ``KeyError`` unless ``force=True``.
        """
        if not isinstance(force, bool):
            raise TypeError(f'force must be a boolean, but got {type(force).__name__}')
        if not (name is None or isinstance(name, str)
                or (isinstance(name, (list, tuple)) and all(isinstance(n, str) for n in name))):
            raise TypeError('name must be None, a str or a sequence of str, '
                            f'but got {type(name).__name__}')
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(obj):
            self._register(obj, name, force)
            return obj
        return decorator

    def _register(self, module, name, force):
        if not callable(module):
            raise TypeError(f'module must be Callable, but got {type(module).__name__}')
        names = [module.__name__] if name is None else [name] if isinstance(name, str) else name
        for key in names:
            if not force and key in self._module_dict:
                existing = self._module_dict[key]
                raise KeyError(f'{key} is already registered in the {self.name} registry at '
                               f'{existing.__module__}. Pass force=True to replace it, or '
                               'pick another name.')
            self._module_dict[key] = module

    # -- building ----------------------------------------------------------------------------
    def build(self, cfg, default_args=None):
        """Build ``cfg['type'](**other keys)``. ``cfg`` is copied, never changed."""
        if not isinstance(cfg, dict):
            raise TypeError(f'cfg must be a dict, but got {type(cfg).__name__}')
        args = dict(default_args or {})
        args.update(cfg)
        if 'type' not in args:
            raise KeyError(f'`cfg` or `default_args` must contain the key "type", but got {cfg}')
        obj_type = args.pop('type')
        if isinstance(obj_type, str):
            obj_cls = self.get(obj_type)
            if obj_cls is None:
                raise KeyError(self._not_found_message(obj_type))
        elif callable(obj_type):
            obj_cls = obj_type
        else:
            raise TypeError(f'type must be a str or valid type, but got {type(obj_type).__name__}')
        try:
            return obj_cls(**args)
        except Exception as err:
            # Name the type being built, so an error deep in a nested config points at its entry.
            name = getattr(obj_cls, '__name__', repr(obj_cls))
            try:
                wrapped = type(err)(f'{name}: {err}')
            except Exception:
                raise err
            raise wrapped from err

    def _not_found_message(self, name):
        close = difflib.get_close_matches(name, list(self.module_dict), n=3, cutoff=0.5)
        hint = f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''
        return (f'{name} is not in the {self.name} registry.{hint} If {name} is your own class, '
                'make sure the module that registers it is imported, e.g. add '
                "custom_imports=dict(imports=['my_module']) to your config.")
