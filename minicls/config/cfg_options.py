"""Command-line overrides: ``--cfg-options model.backbone.depth=50 optim_wrapper.optimizer.lr=0.01``.

Each ``key=value`` is turned into a Python value (``parse_value``), then the dict of them is
merged into the config with ``Config.merge_from_dict`` (dotted keys reach nested dicts, and
numbers in the path index lists: ``train_dataloader.dataset.pipeline.1.prob=0.0``).

Values: ``1`` -> int, ``0.1`` -> float, ``true``/``False`` -> bool, ``None`` -> None,
``[1,2]`` -> list, ``(1,2)`` -> tuple, ``1,2`` -> list, nesting allowed (``"[(1,2),(3,4)]"``);
anything else stays a string (``'none'`` too, since losses take ``reduction='none'``).
Quote values with brackets in the shell.
"""
import argparse


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
