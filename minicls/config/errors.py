"""Errors in what the user wrote (a config file, ``--cfg-options``), and ``check_keys``.

They subclass the built-in error a plain Python check would raise (``KeyError`` for an unknown
key, ``TypeError`` for an unknown argument or a value of the wrong type), so ``except
KeyError`` still catches them; being ``ConfigError`` tells the command lines that the message
is for the user, to be shown as one line without a traceback (``minicls/cli.py``).
"""
import difflib

__all__ = ['ConfigError', 'ConfigKeyError', 'ConfigTypeError', 'check_keys']


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
