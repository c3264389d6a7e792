"""A config is a tree of plain dicts, read from Python files that can build on other files.

A config file is ordinary Python; every top-level variable becomes a key::

    # configs/resnet18_cifar.py
    _base_ = ['_base_/models/resnet18_cifar.py', '_base_/datasets/cifar10_bs16.py']
    model = dict(head=dict(num_classes=100))      # only what differs from the bases

``Config.fromfile`` loads the ``_base_`` files first (recursively, paths relative to the file;
``'minicls::_base_/default_runtime.py'`` is a file shipped in the package, from any folder),
then merges the child into them by these rules:

- a dict merges into the base dict key by key (so ``num_classes`` above changes and the rest
  of ``model`` is inherited);
- any other value (number, string, list, tuple) replaces the base value wholesale;
- ``_delete_=True`` in a child dict throws the base dict away and uses the child's as it is;
- two bases that set the same top-level key are an error (which should win?);
- a dict over a base value that is not a dict is an error (add ``_delete_=True``).

The child can read the merged base values as ``_base_.x`` (e.g. ``_base_.train_pipeline``).
``custom_imports=dict(imports=['my_module'])`` imports your modules on load, so that the
classes they register can be named in ``type=``. The result is a ``Config``: attribute and
item access (``cfg.model.backbone.depth``), ``merge_from_dict`` for ``--cfg-options``,
``pretty_text`` and ``dump`` (which writes a file ``fromfile`` reads back to an equal config).
"""
import ast
import copy
import importlib
import json
import os
import re
import sys
import types
import warnings

from .config_dict import ConfigDict, format_value, parse_pretty_text
from .errors import ConfigError, ConfigKeyError, ConfigTypeError

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
RESERVED_KEYS = ('filename', 'text', 'pretty_text', 'env_variables')
SUPPORTED_EXTENSIONS = ('.py', '.json')


# -- merging ------------------------------------------------------------------------------------
def _drop_delete_keys(value):
    """``value`` without any ``_delete_`` keys (they only steer merging)."""
    if isinstance(value, dict):
        return {k: _drop_delete_keys(v) for k, v in value.items() if k != DELETE_KEY}
    if isinstance(value, (list, tuple)):
        return type(value)(_drop_delete_keys(v) for v in value)
    return value


def merge_dicts(child, base, allow_list_keys=False):
    """Return ``base`` updated by ``child`` with the rules in the module docstring.

    Neither argument is changed. With ``allow_list_keys``, a key made of digits indexes a list
    in ``base`` (``{'pipeline': {'1': {'prob': 0.0}}}`` changes the second pipeline step).
    """
    merged = base.copy()
    for key, value in child.items():
        if isinstance(merged, list):  # only reached with allow_list_keys
            if not (isinstance(key, str) and key.isdigit()):
                raise ConfigKeyError(f'{key!r} cannot index the list {merged!r}')
            slot = int(key)
            if slot >= len(merged):
                raise ConfigKeyError(f'index {slot} is out of range for the list {merged!r}')
        else:
            slot = key
            if slot not in merged:
                merged[slot] = _drop_delete_keys(value)
                continue
        if isinstance(value, dict) and not value.get(DELETE_KEY, False):
            old = merged[slot]
            mergeable = (dict, list) if allow_list_keys else dict
            if not isinstance(old, mergeable):
                raise ConfigTypeError(
                    f'{key}={value!r} in the child config cannot be merged into the base value '
                    f'{old!r}, which is of type {type(old).__name__}, not a dict. Add '
                    f'`{DELETE_KEY}=True` to the child dict to replace the base value.')
            merged[slot] = merge_dicts(value, old, allow_list_keys)
        else:
            merged[slot] = _drop_delete_keys(value)
    return merged


# -- reading files ------------------------------------------------------------------------------
def _substitute_predefined_vars(text, filename):
    """Replace ``{{ fileDirname }}``, ``{{ fileBasename }}``, ``{{ fileBasenameNoExtension }}``
    and ``{{ fileExtname }}`` with facts about the config file."""
    dirname, basename = os.path.split(filename)
    values = dict(fileDirname=dirname.replace('\\', '/'), fileBasename=basename,
                  fileBasenameNoExtension=os.path.splitext(basename)[0],
                  fileExtname=os.path.splitext(basename)[1])
    for key, value in values.items():
        text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', lambda _: value, text)
    return text


def _is_base_assignment(node):
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY)


def _read_python(filename, text):
    """Run a Python config. Returns ``(base file names, the code without its _base_ line)``.

    The ``_base_ = ...`` line is taken out and read as a literal, so that the child runs with
    ``_base_`` bound to the merged base values instead of the list of file names.
    """
    tree = ast.parse(text, filename=filename)  # a SyntaxError names the file and the line
    bases = []
    for node in tree.body:
        if _is_base_assignment(node):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                raise ConfigError(f'{filename}, line {node.lineno}: _base_ must be a file name '
                                 'or a list of file names written out literally') from None
    tree.body = [node for node in tree.body if not _is_base_assignment(node)]
    return bases, compile(tree, filename, 'exec')


def _keep(name, value):
    """Which variables of a Python config become keys: no dunders, functions or modules."""
    return not name.startswith('__') and name != BASE_KEY and not isinstance(
        value, (types.FunctionType, types.ModuleType, types.BuiltinFunctionType))


def _base_path(base, filename):
    """Where a ``_base_`` entry points: ``'minicls::_base_/x.py'`` inside the installed package
    (``minicls/configs``, as mmengine's ``mmpretrain::``), anything else relative to the file."""
    scope, sep, rest = base.partition('::')
    if not sep:
        return os.path.join(os.path.dirname(filename), base)
    if scope != 'minicls':
        raise FileNotFoundError(f'{filename}: _base_ file {base!r}: minicls knows the scope '
                                f"'minicls::' only (its shipped configs); copy the file and "
                                'give its path instead')
    from minicls.configs import CONFIG_ROOT
    return os.path.join(CONFIG_ROOT, rest)


def _file2dict(filename, use_predefined_variables=True, _loading=()):
    """Load one config file and its bases. Returns ``(plain dict, text of all files)``."""
    filename = os.path.abspath(os.path.expanduser(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'Config file not found: {filename}')
    extension = os.path.splitext(filename)[1]
    if extension not in SUPPORTED_EXTENSIONS:
        raise OSError(f'Config files must be {" or ".join(SUPPORTED_EXTENSIONS)}, '
                      f'but got {filename}')
    if filename in _loading:
        chain = ' -> '.join(list(_loading) + [filename])
        raise RecursionError(f'A config is its own _base_: {chain}')

    with open(filename, encoding='utf-8') as f:
        text = f.read()
    source = _substitute_predefined_vars(text, filename) if use_predefined_variables else text
    if extension == '.py':
        bases, code = _read_python(filename, source)
    else:
        try:
            own = json.loads(source)
        except json.JSONDecodeError as err:
            raise ConfigError(f'{filename}, line {err.lineno}: invalid JSON: {err.msg}') from None
        if not isinstance(own, dict):
            raise ConfigTypeError(f'{filename}: a JSON config must hold an object {{...}}, '
                            f'but holds a {type(own).__name__}')
        bases = own.pop(BASE_KEY, [])

    # Load the bases, each with its own bases, and put them side by side.
    if isinstance(bases, str):
        bases = [bases]
    if not (isinstance(bases, (list, tuple)) and all(isinstance(b, str) for b in bases)):
        raise ConfigTypeError(f'{filename}: _base_ must be a file name or a list of file names, '
                        f'but got {bases!r}')
    base_dict, base_texts = {}, []
    for base in bases:
        base_path = _base_path(base, filename)
        if not os.path.isfile(base_path):
            raise FileNotFoundError(f'{filename}: _base_ file {base!r} not found '
                                    f'(looked for {os.path.abspath(base_path)})')
        one, one_text = _file2dict(base_path, use_predefined_variables,
                                   _loading + (filename,))
        duplicates = set(base_dict) & set(one)
        if duplicates:
            raise ConfigKeyError(f'Duplicate key is not allowed among bases. Duplicate keys: '
                           f'{sorted(duplicates)} (set again in {base_path})')
        base_dict.update(one)
        base_texts.append(one_text)

    if extension == '.py':
        namespace = {BASE_KEY: ConfigDict(copy.deepcopy(base_dict))}
        exec(code, namespace)
        own = {k: v for k, v in namespace.items() if _keep(k, v)}
    merged = merge_dicts(own, base_dict)
    return merged, '\n'.join(base_texts + [f'# {filename}\n{text}'])


def import_modules_from_strings(imports, allow_failed_imports=False):
    """Import the modules named in ``custom_imports`` so that their classes get registered."""
    if isinstance(imports, str):
        imports = [imports]
    if not (isinstance(imports, (list, tuple)) and all(isinstance(m, str) for m in imports)):
        raise ConfigTypeError(f'custom_imports imports must be a list of module names, '
                        f'but got {imports!r}')
    modules = []
    for name in imports:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as err:
            if not allow_failed_imports:
                raise ImportError(
                    f'Failed to import {name!r} listed in custom_imports: {err}. Python looks '
                    f'for modules in sys.path = {sys.path}; put the folder that holds your '
                    'module on PYTHONPATH (or install your package).') from err
            warnings.warn(f'{name!r} in custom_imports failed to import and is skipped: {err}')
            modules.append(None)
    return modules


# -- the Config object --------------------------------------------------------------------------
class Config:
    """A config: a ``ConfigDict`` of settings plus the file it came from.

    ``Config(dict(model=dict(type='ResNet')))`` or ``Config.fromfile('configs/x.py')``.
    Keys read as attributes or items: ``cfg.model.type == cfg['model']['type']``.
    """

    _INTERNAL = ('_cfg_dict', '_filename', '_text')

    def __init__(self, cfg_dict=None, filename=None, text=None):
        if cfg_dict is None:
            cfg_dict = {}
        elif isinstance(cfg_dict, Config):
            cfg_dict = cfg_dict._cfg_dict
        elif not isinstance(cfg_dict, dict):
            raise TypeError(f'cfg_dict must be a dict, but got {type(cfg_dict).__name__}')
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f'{key} is reserved for config file')
        object.__setattr__(self, '_cfg_dict', ConfigDict(cfg_dict))
        object.__setattr__(self, '_filename', filename)
        object.__setattr__(self, '_text', text or '')

    @staticmethod
    def fromfile(filename, use_predefined_variables=True, import_custom_modules=True):
        """Read a ``.py`` or ``.json`` config with its ``_base_`` files.

        ``custom_imports=dict(imports=[...], allow_failed_imports=False)`` in the result is
        imported (unless ``import_custom_modules=False``).
        """
        cfg_dict, text = _file2dict(filename, use_predefined_variables)
        if import_custom_modules and cfg_dict.get('custom_imports'):
            custom = cfg_dict['custom_imports']
            if not isinstance(custom, dict):
                raise ConfigTypeError("custom_imports must be dict(imports=['module', ...]), "
                                f'but got {custom!r}')
            import_modules_from_strings(**custom)
        return Config(cfg_dict, filename=os.path.abspath(filename), text=text)

    @staticmethod
    def from_pretty_text(text, filename=None):
        """A config from the text ``pretty_text`` writes (``key = value`` lines), read without
        running it (no ``_base_``, no code): how ``python -m minicls.test CHECKPOINT`` reads
        the config a checkpoint holds in ``meta['cfg']``."""
        return Config(parse_pretty_text(text, filename or '<config text>'), filename=filename,
                      text=text)

    # -- what it holds ---------------------------------------------------------------------
    @property
    def filename(self):
        return self._filename

    @property
    def text(self):
        """The text of the config file and its bases, as read."""
        return self._text

    @property
    def pretty_text(self):
        """The config as Python source, one ``key = value`` per top-level key."""
        return ''.join(f'{key} = {format_value(value)}\n' for key, value in self.items())

    def to_dict(self):
        """The settings as plain dicts, lists and tuples."""
        return self._cfg_dict.to_dict()

    def dump(self, file=None):
        """Write the config to ``file`` (``.py`` or ``.json``); without one, return the text.

        ``Config.fromfile`` reads the file back to an equal config (for ``.json``, tuples
        come back as lists).
        """
        if file is None:
            return self.pretty_text
        extension = os.path.splitext(str(file))[1]
        if extension == '.py':
            text = self.pretty_text
        elif extension == '.json':
            text = json.dumps(self.to_dict(), indent=4) + '\n'
        else:
            raise OSError(f'dump writes .py or .json files, but got {file}')
        with open(file, 'w', encoding='utf-8') as f:
            f.write(text)
        return None

    # -- changing it -----------------------------------------------------------------------
    def merge_from_dict(self, options, allow_list_keys=True):
        """Merge ``{'model.backbone.depth': 50, 'pipeline.1.prob': 0.0}`` into the config.

        Dotted keys reach into nested dicts; with ``allow_list_keys`` a number in the path
        indexes a list. Values merge with the same rules as a child config.
        """
        nested = {}
        for full_key, value in options.items():
            node = nested
            *parents, last = full_key.split('.')
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        merged = merge_dicts(nested, self._cfg_dict, allow_list_keys)
        object.__setattr__(self, '_cfg_dict', ConfigDict(merged))

    def copy(self):
        """A copy whose top-level keys can change without changing this config."""
        return Config(self._cfg_dict.copy(), self._filename, self._text)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return Config(copy.deepcopy(self._cfg_dict, memo), self._filename, self._text)

    # -- dict-like access (other dict methods, such as items(), come from the ConfigDict) ------
    def __getattr__(self, name):
        if name.startswith('__') or name in Config._INTERNAL:
            raise AttributeError(name)  # not set yet (copying, unpickling)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name, value):
        self._cfg_dict[name] = value

    def __delattr__(self, name):
        delattr(self._cfg_dict, name)

    def __getitem__(self, key):
        return self._cfg_dict[key]

    def __setitem__(self, key, value):
        self._cfg_dict[key] = value

    def __delitem__(self, key):
        del self._cfg_dict[key]

    def __contains__(self, key):
        return key in self._cfg_dict

    def __iter__(self):
        return iter(self._cfg_dict)

    def __len__(self):
        return len(self._cfg_dict)

    def __eq__(self, other):
        if isinstance(other, Config):
            other = other._cfg_dict
        return isinstance(other, dict) and self.to_dict() == _plain(other)

    def __repr__(self):
        return f'Config (path: {self._filename}): {self._cfg_dict.to_dict()}'


def _plain(value):
    return ConfigDict(value).to_dict()
