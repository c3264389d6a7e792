"""Command-line overrides: ``--cfg-options model.backbone.depth=50 optim_wrapper.optimizer.lr=0.01``.

Each ``key=value`` is turned into a Python value (``parse_value``), then the dict of them is
merged into the config with ``Config.merge_from_dict`` (dotted keys reach nested dicts, and
numbers in the path index lists: ``train_dataloader.dataset.pipeline.1.prob=0.0``).

Values: ``1`` -> int, ``0.1`` -> float, ``true``/``False`` -> bool, ``None`` -> None,
``[1,2]`` -> list, ``(1,2)`` -> tuple, ``1,2`` -> list, nesting allowed (``"[(1,2),(3,4)]"``);
anything else stays a string (``'none'`` too, since losses take ``reduction='none'``).
Quote values with brackets in the shell.

``check_option_types`` then compares each value with the one it replaces in the config: a
number must stay a number (``max_epochs=abc`` and ``lr=1e-x`` are refused), an integer an
integer (``max_epochs=2.5`` is refused, ``2.0`` becomes 2), and a bool a bool.
"""
import argparse

from .errors import ConfigTypeError


def _split_top_level(text):
    """Split ``text`` at the commas that are not inside brackets: ``'1,(2,3)'`` -> ``['1', '(2,3)']``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f'unbalanced brackets in {text!r}')
    parts.append(text[start:])
    if len(parts) > 1 and not parts[-1].strip():  # a trailing comma, as in '(1,)'
        parts.pop()
    return parts


def _closing_bracket(text):
    """The index of the bracket that closes ``text[0]``."""
    depth = 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
        if depth == 0:
            return i
    return -1


def _parse_scalar(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"':
        return text[1:-1]  # a quoted string stays a string: '"1"' -> '1'
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if text == 'None':
        return None
    return text


def parse_value(text):
    """Turn one command-line value into a Python value (see the module docstring)."""
    text = text.strip()
    if text[:1] in ('(', '[') and _closing_bracket(text) == len(text) - 1:
        inner = text[1:-1]
        items = [parse_value(part) for part in _split_top_level(inner)] if inner.strip() else []
        return tuple(items) if text[0] == '(' else items
    parts = _split_top_level(text)
    if len(parts) > 1:
        return [parse_value(part) for part in parts]
    return _parse_scalar(text)


def parse_cfg_options(options):
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}``, ready for ``merge_from_dict``."""
    parsed = {}
    for option in options:
        key, sep, value = option.partition('=')
        if not sep or not key.strip():
            raise ValueError(f'--cfg-options expects key=value pairs, but got {option!r}')
        parsed[key.strip()] = parse_value(value)
    return parsed


def _current_value(cfg, key):
    """The value at dotted ``key`` in ``cfg``, or None when the config does not have it."""
    node, walked = (cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg), []
    for part in key.split('.'):
        if isinstance(node, dict):
            if part not in node:
                return None  # a new key: the section that reads it says if it is unknown
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ConfigTypeError(f'--cfg-options {key}: {".".join(walked)} is {node!r} in the '
                                  f'config, which has no entry {part!r}')
        walked.append(part)
    return node


def check_option_types(cfg, options):
    """``options`` (from ``parse_cfg_options``) checked against the values they replace in
    ``cfg``; returns them with whole floats for integers turned into ints. A list, tuple,
    dict or None may replace anything (``topk=1`` -> ``topk=(1,5)``)."""
    checked = {}
    for key, value in options.items():
        old = _current_value(cfg, key)
        wanted = None
        if isinstance(old, bool):
            wanted = None if isinstance(value, bool) else 'True or False'
        elif isinstance(old, int) and not isinstance(value, bool):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            wanted = None if isinstance(value, int) else 'an integer'
        elif isinstance(old, float):
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            wanted = None if is_number else 'a number such as 0.1 or 1e-3'
        if wanted and value is not None and not isinstance(value, (list, tuple, dict)):
            raise ConfigTypeError(f'--cfg-options {key}={value!r}: {key} must be {wanted} '
                                  f'(the config has {old!r})')
        checked[key] = value
    return checked


class DictAction(argparse.Action):
    """An argparse action that collects ``key=value`` pairs into a dict.

    ``parser.add_argument('--cfg-options', nargs='+', action=DictAction)``; the option may be
    repeated and the pairs accumulate.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        if isinstance(values, str):
            values = [values]
        try:
            options.update(parse_cfg_options(values or []))
        except ValueError as err:
            raise argparse.ArgumentError(self, str(err)) from None
        setattr(namespace, self.dest, options)
