"""Errors in what the user wrote (a config file, ``--cfg-options``), ``check_keys`` and
``check_number``.

They subclass the built-in error a plain Python check would raise (``KeyError`` for an unknown
key, ``TypeError`` for an unknown argument or a value of the wrong type), so ``except
KeyError`` still catches them; being ``ConfigError`` tells the command lines that the message
is for the user, to be shown as one line without a traceback (``minicls/cli.py``).
"""
import difflib
import numbers

__all__ = ['ConfigError', 'ConfigKeyError', 'ConfigTypeError', 'check_keys', 'check_number']


class ConfigError(ValueError):
    """A config that cannot work as written; the message says what to change."""

    def __str__(self):  # the message as written (KeyError would add quotes around it)
        return str(self.args[0]) if self.args else ''


class ConfigKeyError(ConfigError, KeyError):
    """A key the config section does not have (a typo, or a setting minicls lacks)."""


class ConfigTypeError(ConfigError, TypeError):
    """An argument a constructor does not take, or a value of the wrong type."""


def check_keys(given, allowed, where, error=ConfigKeyError, what='key', max_listed=None):
    """Refuse the keys of ``given`` that are not in ``allowed``, suggesting the nearest one.

    ``check_keys({'max_epoch': 1}, ['max_epochs', 'val_interval'], 'train_cfg')`` raises
    ``ConfigKeyError: train_cfg has no key 'max_epoch'. Did you mean 'max_epochs'? Valid
    keys: max_epochs, val_interval``. ``max_listed`` lists only the first few valid keys
    (a model's parameter names would make a very long line).
    """
    allowed = sorted(allowed)
    for key in given:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f' Did you mean {close[0]!r}?' if close else ''
        listed = allowed if max_listed is None or len(allowed) <= max_listed else \
            allowed[:max_listed] + ['...']
        raise error(f'{where} has no {what} {key!r}.{hint} Valid {what}s: '
                    f'{", ".join(listed) or "none"}')


def check_number(value, name, kind=int, low=None, high=None, open_bounds=False):
    """``value`` as an ``int`` (``kind=int``) or a ``float`` within ``[low, high]`` (``(low,
    high)`` with ``open_bounds``); otherwise a ConfigError naming ``name``, the value given
    and what is expected.

    ``check_number('x', 'LookaheadHook: interval', low=1)`` raises ``ConfigTypeError:
    LookaheadHook: interval must be an integer >= 1, got 'x' (a str)``. A whole float is
    taken as an integer (``2.0`` -> 2); a bool or a quoted number (``'3'``) is refused.
    """
    expected = 'an integer' if kind is int else 'a number'
    if low is not None and high is not None:
        left, right = '()' if open_bounds else '[]'
        expected += f' in {left}{low}, {high}{right}'
    elif low is not None:
        expected += f' {">" if open_bounds else ">="} {low}'
    elif high is not None:
        expected += f' {"<" if open_bounds else "<="} {high}'
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not number or (kind is int and not float(value).is_integer()):
        raise ConfigTypeError(f'{name} must be {expected}, got {value!r} '
                              f'(a {type(value).__name__})')
    number = kind(value)
    too_low = low is not None and (number <= low if open_bounds else number < low)
    too_high = high is not None and (number >= high if open_bounds else number > high)
    if too_low or too_high or number != number:  # number != number: NaN
        raise ConfigError(f'{name} must be {expected}, got {value!r}')
    return number
