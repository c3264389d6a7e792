"""A registry is a table from names to classes (or functions).

mmpretrain builds every object from a config dict such as ``dict(type='ResNet', depth=18)``.
The registry is what turns the string ``'ResNet'`` back into the class: classes put themselves
in the table with a decorator, and ``build`` looks the name up and calls it with the other keys::

    MODELS = Registry('model')

    @MODELS.register_module()
    class ResNet(Module): ...

    net = MODELS.build(dict(type='ResNet', depth=18))   # == ResNet(depth=18)

That is the whole idea. The rest of this file is bookkeeping: aliases, clear error messages
(a typo in a config should say what was meant), and importing the built-in classes lazily so
that their decorators have run before the first lookup.

Nested configs are *not* built here: each constructor builds its own children (an
``ImageClassifier`` calls ``MODELS.build`` on its ``backbone``, ``neck`` and ``head``).
"""
import difflib
import importlib
import inspect

from minicls.config.errors import ConfigTypeError, check_keys

from ..nn import Sequential


class RegistryKeyError(KeyError):
    """A ``KeyError`` that prints its message as written.

    A plain ``KeyError`` prints ``repr(message)``, so a long message comes out wrapped in
    quotes (and nested ones in quotes inside quotes). This one prints the text itself;
    ``except KeyError`` still catches it.
    """

    def __str__(self):
        return str(self.args[0]) if self.args else ''


def _message(err):
    """The text of an exception without the quotes ``KeyError`` adds around it."""
    if len(err.args) == 1 and isinstance(err.args[0], str):
        return err.args[0]
    return str(err)


def build_from_cfg(cfg, registry, default_args=None):
    """Build one object: ``registry.get(cfg['type'])(**other keys of cfg)``.

    Args:
        cfg (dict): the keys for the constructor plus ``type``, a registered name or a class.
            It is copied (one level, as mmengine does), never changed.
        registry (Registry): where to look ``type`` up.
        default_args (dict, optional): keys used when ``cfg`` does not set them (cfg wins).
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'cfg must be a dict, but got {type(cfg).__name__}')
    if default_args is not None and not isinstance(default_args, dict):
        raise TypeError(f'default_args must be a dict or None, but got '
                        f'{type(default_args).__name__}')
    args = dict(default_args or {})
    args.update(cfg)
    if 'type' not in args:
        raise RegistryKeyError(
            f'`cfg` or `default_args` must contain the key "type", but got {cfg}')
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise RegistryKeyError(registry._not_found_message(obj_type))
    elif callable(obj_type):
        obj_cls = obj_type
    else:
        raise TypeError(f'type must be a str or valid type, but got {type(obj_type).__name__}')

    _check_arguments(obj_cls, args)
    try:
        return obj_cls(**args)
    except Exception as err:
        # Say which type was being built, so that an error deep inside a nested config
        # reads "ImageClassifier: LinearClsHead: <what went wrong>".
        name = getattr(obj_cls, '__name__', repr(obj_cls))
        if _message(err).startswith(f'{name}: '):  # it named itself: no "X: X: ..."
            raise
        cls = RegistryKeyError if type(err) is KeyError else type(err)
        try:
            wrapped = cls(f'{name}: {_message(err)}')
        except Exception:  # an exception type whose constructor wants other arguments
            raise err
        # Keep the original traceback (it points at the failing line) but show one error.
        raise wrapped.with_traceback(err.__traceback__) from None


def _check_arguments(obj_cls, args):
    """Refuse a key the constructor has no argument for (a typo such as ``intervl=2``),
    naming the nearest argument. Constructors that take ``**kwargs`` are left to Python."""
    try:
        params = inspect.signature(obj_cls).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some built-ins)
        return
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    name = getattr(obj_cls, '__name__', repr(obj_cls))
    check_keys(args, names, name, error=ConfigTypeError, what='argument')


def build_model_from_cfg(cfg, registry, default_args=None):
    """Like ``build_from_cfg``, but a list of cfgs builds each one and chains them in an
    ``nn.Sequential`` (this is what ``MODELS`` uses, as in mmengine)."""
    if not isinstance(cfg, list):
        return build_from_cfg(cfg, registry, default_args)
    return Sequential(*[build_from_cfg(c, registry, default_args) for c in cfg])


class Registry:
    """A name -> class table with ``register_module`` and ``build``.

    Args:
        name (str): what the registry holds, used in messages (``'model'``).
        build_func (callable, optional): ``build_func(cfg, registry, default_args)`` that
            ``build`` calls; defaults to ``build_from_cfg``.
        locations (list[str]): modules imported on the first lookup, so that the decorators
            of the built-in classes have run before anything is built (users import nothing
            by hand). A location that does not exist (yet) is skipped; an error raised while
            importing one that does exist is raised.
    """

    def __init__(self, name, build_func=None, locations=()):
        self.name = name
        self.build_func = build_func or build_from_cfg
        self._module_dict = {}
        self._locations = list(locations)
        self._imported = not self._locations

    # -- the table ---------------------------------------------------------------------------
    @property
    def module_dict(self):
        """The name -> class dict (after importing the built-ins)."""
        self._import_locations()
        return self._module_dict

    def __len__(self):
        return len(self.module_dict)

    def __contains__(self, name):
        return self.get(name) is not None

    def __iter__(self):
        return iter(list(self.module_dict))

    def keys(self):
        return self.module_dict.keys()

    def __repr__(self):
        return f'Registry(name={self.name!r}, items={sorted(self.module_dict)})'

    def _import_locations(self):
        if self._imported:
            return
        # Set first: the modules we import register into this registry while we import them.
        self._imported = True
        try:
            for location in self._locations:
                try:
                    importlib.import_module(location)
                except ModuleNotFoundError as err:
                    if err.name != location:
                        raise  # the location exists but something it imports is missing
        except Exception:
            self._imported = False  # try again (and fail loudly again) on the next lookup
            raise

    def get(self, name):
        """The class registered as ``name``, or None."""
        return self.module_dict.get(name)

    # -- registering -------------------------------------------------------------------------
    def register_module(self, name=None, force=False, module=None):
        """Register a class or function, as a decorator or as a plain call.

        ``@REG.register_module()``, ``@REG.register_module('Alias')``,
        ``@REG.register_module(['A', 'B'])`` (aliases) or ``REG.register_module('BN', module=cls)``.
        A name that is taken raises ``KeyError`` unless ``force=True``. The decorator returns
        the class unchanged.
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
        if not (getattr(module, '__module__', None) or '').startswith('minicls.'):
            # A user's class: let the built-ins claim their names first, so that a clash is
            # reported here (or overridden by force=True) instead of breaking a later lookup.
            self._import_locations()
        if name is None:
            names = [module.__name__]
        else:
            names = [name] if isinstance(name, str) else list(name)
        if not force:  # check every alias before registering any of them
            for key in names:
                if key in self._module_dict:
                    existing = self._module_dict[key]
                    where = getattr(existing, '__module__', None) or 'an unknown module'
                    raise RegistryKeyError(
                        f'{key} is already registered in the {self.name} registry at {where}. '
                        'Pass force=True to replace it, or pick another name.')
        for key in names:
            self._module_dict[key] = module

    # -- building ----------------------------------------------------------------------------
    def build(self, cfg, default_args=None):
        """Build ``cfg['type'](**other keys)``; ``cfg`` is copied, never changed.

        ``default_args`` fill in the keys ``cfg`` leaves out:
        ``OPTIMIZERS.build(dict(type='SGD', lr=0.1), default_args=dict(params=params))``.
        """
        return self.build_func(cfg, self, default_args)

    def _not_found_message(self, name):
        names = list(self.module_dict)
        by_lower = {}
        for registered in names:
            by_lower.setdefault(registered.lower(), registered)
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
        hint = f' Did you mean {" or ".join(repr(by_lower[c]) for c in close)}?' if close else ''
        return (f'{name!r} is not in the {self.name} registry.{hint} If {name} is your own '
                'class, make sure the module that registers it is imported, e.g. add '
                "custom_imports=dict(imports=['my_module']) to your config.")
