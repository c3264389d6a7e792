"""``ConfigDict``: a dict whose keys can also be read as attributes, and the text format of
configs (``format_value``, used by ``Config.pretty_text`` and ``Config.dump``, and
``parse_pretty_text``, which reads it back without running it)."""
import ast
import keyword
import math

from .errors import ConfigError


class ConfigDict(dict):
    """A dict with attribute access: ``cfg.model.backbone.depth == cfg['model']['backbone']['depth']``.

    Dicts stored inside (also inside lists and tuples) become ``ConfigDict`` too, so the dots
    work all the way down. A missing key read as an attribute raises ``AttributeError``;
    read as an item it raises ``KeyError``, as for any dict. Keys that are also dict method
    names (``items``, ``keys``, ``copy``, ``pop``...) must be read as items.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key, value):
        super().__setitem__(key, _to_config_dict(value))

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f'{type(self).__name__} has no attribute or key {name!r}; '
                                 f'its keys are {list(self.keys())}') from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *args, **kwargs):
        """``dict.update`` that converts nested dicts (dict's own one skips ``__setitem__``)."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self):
        """A shallow copy that is still a ``ConfigDict``."""
        return type(self)(self)

    def to_dict(self):
        """Plain ``dict``/``list``/``tuple`` all the way down."""
        return _to_plain(self)


def _to_config_dict(value):
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, dict):
        return ConfigDict(value)
    if isinstance(value, list):
        return [_to_config_dict(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_config_dict(v) for v in value)
    return value


def _to_plain(value):
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_plain(v) for v in value)
    return value


# -- writing configs as Python text ------------------------------------------------------------
def _is_name(key):
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _one_line(value):
    """``value`` as Python source on one line: ``dict(type='ResNet', depth=18)``."""
    if isinstance(value, dict):
        if all(_is_name(k) for k in value):
            return 'dict(' + ', '.join(f'{k}={_one_line(v)}' for k, v in value.items()) + ')'
        return '{' + ', '.join(f'{k!r}: {_one_line(v)}' for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(_one_line(v) for v in value) + ']'
    if isinstance(value, tuple):
        if len(value) == 1:
            return f'({_one_line(value[0])},)'
        return '(' + ', '.join(_one_line(v) for v in value) + ')'
    if isinstance(value, float) and not math.isfinite(value):
        return f'float({str(value)!r})'  # float('inf'), float('nan')
    return repr(value)


def format_value(value, indent=0, width=90):
    """``value`` as Python source: on one line if it fits in ``width``, else one item a line.

    Dicts are written as ``dict(k=v)`` (or ``{'k': v}`` when a key is not a Python name),
    so that executing the text gives the value back.
    """
    text = _one_line(value)
    if indent + len(text) <= width or not isinstance(value, (dict, list, tuple)) or not value:
        return text
    pad = ' ' * (indent + 4)
    if isinstance(value, dict):
        use_names = all(_is_name(k) for k in value)
        lines = [(f'{k}=' if use_names else f'{k!r}: ') + format_value(v, indent + 4, width)
                 for k, v in value.items()]
        opening, closing = ('dict(', ')') if use_names else ('{', '}')
    else:
        lines = [format_value(v, indent + 4, width) for v in value]
        opening, closing = ('[', ']') if isinstance(value, list) else ('(', ')')
    body = ''.join(f'{pad}{line},\n' for line in lines)
    return f'{opening}\n{body}{" " * indent}{closing}'


# -- reading that text back without running it ----------------------------------------------
def _literal(node, where):
    """The value of an expression ``format_value`` writes: literals, lists, tuples, dicts,
    ``dict(k=v)``, ``float('inf')`` and negative numbers. Anything else is refused."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(n, where) for n in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, where): _literal(v, where) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, where)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == 'dict' and not node.args and all(k.arg for k in node.keywords):
            return {k.arg: _literal(k.value, where) for k in node.keywords}
        if node.func.id == 'float' and len(node.args) == 1 and not node.keywords:
            text = _literal(node.args[0], where)
            if text in ('inf', '-inf', 'nan'):
                return float(text)
    raise ConfigError(f'{where}, line {node.lineno}: only plain values can be read here, '
                     f'not {ast.unparse(node)!r}')


def parse_pretty_text(text, where='<config text>'):
    """``key = value`` lines (as ``Config.pretty_text`` writes them) -> a dict, read with
    ``ast`` and never executed: text from a checkpoint cannot run code."""
    values = {}
    for statement in ast.parse(text, filename=where).body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ConfigError(f'{where}, line {statement.lineno}: expected `name = value`')
        values[statement.targets[0].id] = _literal(statement.value, where)
    return values
