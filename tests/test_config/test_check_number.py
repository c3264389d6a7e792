"""``check_number``: a number a config gives (a hook's interval, a momentum), or a ConfigError
that names the argument, says what was given and what is expected."""
import numpy as np
import pytest

from minicls.config.errors import ConfigError, ConfigTypeError, check_number


def test_numbers_are_returned_as_the_kind_asked_for():
    assert check_number(3, 'n') == 3 and type(check_number(2.0, 'n')) is int
    assert check_number(np.int64(4), 'n', low=1) == 4
    assert type(check_number(1, 'x', float)) is float
    assert check_number(0.5, 'm', float, low=0, high=1, open_bounds=True) == 0.5
    assert check_number(0, 'n', low=0) == 0 and check_number(1.0, 'd', float, 0, 1) == 1.0


@pytest.mark.parametrize('value, kwargs, error, says', [
    ('x', dict(low=1), ConfigTypeError, "H: n must be an integer >= 1, got 'x' (a str)"),
    ('3', dict(low=0), ConfigTypeError, "H: n must be an integer >= 0, got '3' (a str)"),
    (None, {}, ConfigTypeError, 'H: n must be an integer, got None (a NoneType)'),
    (True, {}, ConfigTypeError, 'H: n must be an integer, got True (a bool)'),
    (2.5, {}, ConfigTypeError, 'H: n must be an integer, got 2.5 (a float)'),
    (0, dict(low=1), ConfigError, 'H: n must be an integer >= 1, got 0'),
    (1, dict(kind=float, low=0, high=1, open_bounds=True), ConfigError,
     'H: n must be a number in (0, 1), got 1'),
    (1.5, dict(kind=float, low=0, high=1), ConfigError, 'H: n must be a number in [0, 1], got 1.5'),
    (float('nan'), dict(kind=float), ConfigError, 'H: n must be a number, got nan'),
    (7, dict(high=5), ConfigError, 'H: n must be an integer <= 5, got 7'),
])
def test_what_is_not_a_fitting_number_is_a_config_error(value, kwargs, error, says):
    with pytest.raises(error) as info:
        check_number(value, 'H: n', **kwargs)
    assert str(info.value) == says
