"""Tests for minicls.registry: the name -> class table that turns config dicts into objects."""
import sys
import textwrap

import pytest

from minicls.registry import (DATASETS, HOOKS, METRICS, MODELS, OPTIMIZERS, PARAM_SCHEDULERS,
                              TRANSFORMS, Registry)


@pytest.fixture
def reg():
    return Registry('toy')


# -- register_module ----------------------------------------------------------------------------
def test_decorator_registers_under_class_name_and_returns_class(reg):
    @reg.register_module()
    class ResNet:
        pass

    assert reg.get('ResNet') is ResNet
    assert isinstance(ResNet, type) and ResNet.__name__ == 'ResNet'  # returned unchanged


def test_decorator_with_name_and_aliases(reg):
    @reg.register_module('Renamed')
    class A:
        pass

    @reg.register_module(['B1', 'B2'])
    class B:
        pass

    assert reg.get('Renamed') is A and reg.get('A') is None
    assert reg.get('B1') is B and reg.get('B2') is B and reg.get('B') is None


def test_plain_call_form(reg):
    class BatchNorm2d:
        pass

    returned = reg.register_module('BN', module=BatchNorm2d)
    assert returned is BatchNorm2d
    assert reg.get('BN') is BatchNorm2d
    assert reg.register_module(module=BatchNorm2d, name='BatchNorm2d') is BatchNorm2d
    assert reg.get('BatchNorm2d') is BatchNorm2d


def test_functions_can_be_registered_and_built(reg):
    @reg.register_module()
    def make_pair(a, b=2):
        return (a, b)

    assert reg.build(dict(type='make_pair', a=1)) == (1, 2)


def test_duplicate_name_raises_keyerror_naming_where_it_came_from(reg):
    @reg.register_module()
    class Foo:
        pass

    with pytest.raises(KeyError) as info:
        @reg.register_module()
        class Foo:  # noqa: F811
            pass
    message = str(info.value)
    assert 'Foo is already registered in the toy registry at' in message
    assert __name__ in message  # the module of the existing class
    assert not message.startswith("'")  # printed as written, not as repr(message)


def test_duplicate_alias_registers_none_of_the_names(reg):
    reg.register_module('Taken', module=int)
    with pytest.raises(KeyError):
        reg.register_module(['Fresh', 'Taken'], module=float)
    assert 'Fresh' not in reg
    assert reg.get('Taken') is int


def test_force_replaces(reg):
    reg.register_module('X', module=int)
    reg.register_module('X', force=True, module=float)
    assert reg.get('X') is float


@pytest.mark.parametrize('kwargs', [dict(force=1), dict(name=3), dict(name=['a', 3])])
def test_register_module_type_checks(reg, kwargs):
    with pytest.raises(TypeError):
        reg.register_module(module=int, **kwargs)


def test_non_callable_module_is_rejected(reg):
    with pytest.raises(TypeError, match='module must be Callable'):
        reg.register_module('x', module=3)


# -- the table ----------------------------------------------------------------------------------
def test_get_in_len_iter(reg):
    reg.register_module('A', module=int)
    reg.register_module('B', module=float)
    assert reg.get('A') is int and reg.get('missing') is None
    assert 'A' in reg and 'missing' not in reg
    assert len(reg) == 2
    assert list(reg) == ['A', 'B']
    assert 'toy' in repr(reg)


# -- build --------------------------------------------------------------------------------------
class Point:
    def __init__(self, x, y=0, z=0):
        self.x, self.y, self.z = x, y, z


def test_build_calls_the_class_with_the_other_keys(reg):
    reg.register_module(module=Point)
    p = reg.build(dict(type='Point', x=1, y=2))
    assert isinstance(p, Point) and (p.x, p.y, p.z) == (1, 2, 0)


def test_build_default_args_fill_in_and_cfg_wins(reg):
    reg.register_module(module=Point)
    cfg = dict(type='Point', x=1, y=2)
    p = reg.build(cfg, default_args=dict(y=20, z=30))
    assert (p.x, p.y, p.z) == (1, 2, 30)
    p = reg.build(dict(x=5), default_args=dict(type='Point'))  # type may come from defaults
    assert p.x == 5


def test_build_never_changes_cfg(reg):
    reg.register_module(module=Point)
    cfg = dict(type='Point', x=1)
    reg.build(cfg, default_args=dict(z=3))
    assert cfg == dict(type='Point', x=1)


def test_build_accepts_a_class_as_type(reg):
    p = reg.build(dict(type=Point, x=7))  # not registered at all
    assert isinstance(p, Point) and p.x == 7


def test_build_errors_for_bad_cfgs(reg):
    with pytest.raises(TypeError, match='cfg must be a dict'):
        reg.build(['not', 'a', 'dict'])
    with pytest.raises(KeyError, match='must contain the key "type"'):
        reg.build(dict(x=1))
    with pytest.raises(TypeError, match='type must be a str or valid type'):
        reg.build(dict(type=3))


def test_unknown_type_message(reg):
    reg.register_module(module=Point)
    reg.register_module('LinearClsHead', module=Point)
    with pytest.raises(KeyError) as info:
        reg.build(dict(type='LinearClsHed'))
    message = str(info.value)
    assert message.startswith("'LinearClsHed' is not in the toy registry.")
    assert "Did you mean 'LinearClsHead'?" in message
    assert 'custom_imports' in message


def test_unknown_type_close_match_ignores_case(reg):
    reg.register_module('ResNet', module=Point)
    with pytest.raises(KeyError, match="Did you mean 'ResNet'"):
        reg.build(dict(type='resnet'))


def test_unknown_type_without_close_match_has_no_suggestion(reg):
    reg.register_module('ResNet', module=Point)
    with pytest.raises(KeyError) as info:
        reg.build(dict(type='Zzzzzz'))
    assert 'Did you mean' not in str(info.value)


def test_constructor_error_names_the_type_and_keeps_its_class(reg):
    reg.register_module(module=Point)
    with pytest.raises(TypeError) as info:
        reg.build(dict(type='Point', x=1, w=2))
    assert str(info.value).startswith("Point has no argument 'w'. Valid arguments: x, y, z")
    with pytest.raises(TypeError, match=r"Point has no argument 'yy'\. Did you mean 'y'\?"):
        reg.build(dict(type='Point', x=1, yy=2))   # the nearest argument is suggested


def test_nested_constructor_errors_read_as_a_path(reg):
    @reg.register_module()
    class LinearClsHead:
        def __init__(self, num_classes):
            if num_classes <= 0:
                raise ValueError(f'num_classes={num_classes} must be a positive integer')

    @reg.register_module()
    class ImageClassifier:
        def __init__(self, head):
            self.head = reg.build(head)

    with pytest.raises(ValueError) as info:
        reg.build(dict(type='ImageClassifier', head=dict(type='LinearClsHead', num_classes=0)))
    assert str(info.value) == ('ImageClassifier: LinearClsHead: '
                               'num_classes=0 must be a positive integer')

    with pytest.raises(KeyError) as info:  # an unknown type deep down: no quotes inside quotes
        reg.build(dict(type='ImageClassifier', head=dict(type='LinearHead', num_classes=2)))
    message = str(info.value)
    assert message.startswith("ImageClassifier: 'LinearHead' is not in the toy registry.")
    assert '"' not in message


def test_plain_keyerror_in_constructor_is_readable(reg):
    @reg.register_module()
    class NeedsKey:
        def __init__(self):
            raise KeyError('missing_key')

    with pytest.raises(KeyError) as info:
        reg.build(dict(type='NeedsKey'))
    assert str(info.value) == 'NeedsKey: missing_key'


# -- lazy import of the built-ins ---------------------------------------------------------------
@pytest.fixture
def lazy_package(tmp_path, monkeypatch):
    """A package whose registry lists a module of built-ins as a lazy location."""
    pkg = tmp_path / 'lazy_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'registry.py').write_text(textwrap.dedent('''
        from minicls.registry import Registry
        THINGS = Registry('thing', locations=['lazy_pkg.not_written_yet', 'lazy_pkg.things'])
    '''))
    (pkg / 'things.py').write_text(textwrap.dedent('''
        from lazy_pkg.registry import THINGS

        @THINGS.register_module()
        class Widget:
            def __init__(self, size=1):
                self.size = size
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m == 'lazy_pkg' or m.startswith('lazy_pkg.')]:
        del sys.modules[name]


def test_locations_are_imported_on_first_lookup(lazy_package):
    from lazy_pkg.registry import THINGS
    assert 'lazy_pkg.things' not in sys.modules
    widget = THINGS.build(dict(type='Widget', size=3))  # no import of lazy_pkg.things by hand
    assert widget.size == 3
    assert 'lazy_pkg.things' in sys.modules
    assert len(THINGS) == 1  # the missing location was skipped


def test_error_inside_a_location_is_raised_not_hidden(lazy_package):
    (lazy_package / 'things.py').write_text('import a_module_that_does_not_exist_42\n')
    from lazy_pkg.registry import THINGS
    with pytest.raises(ModuleNotFoundError, match='a_module_that_does_not_exist_42'):
        THINGS.get('Widget')
    with pytest.raises(ModuleNotFoundError):  # and again on the next lookup
        THINGS.get('Widget')


# -- the registries of minicls ------------------------------------------------------------------
def test_root_registries_exist_with_their_names():
    registries = dict(model=MODELS, dataset=DATASETS, transform=TRANSFORMS,
                      optimizer=OPTIMIZERS, hook=HOOKS, metric=METRICS)
    registries['parameter scheduler'] = PARAM_SCHEDULERS
    for name, registry in registries.items():
        assert isinstance(registry, Registry)
        assert registry.name == name
    assert len({id(r) for r in registries.values()}) == 7


def test_batch_augments_registry_is_importable_from_the_registry_package():
    """As ``from mmpretrain.registry import BATCH_AUGMENTS``; its built-ins load on the first
    lookup, and it is the registry the data preprocessor builds from."""
    import subprocess
    import sys
    code = ('from minicls.registry import BATCH_AUGMENTS\n'
            'mixup = BATCH_AUGMENTS.build(dict(type="Mixup", alpha=1.0))\n'
            'print(BATCH_AUGMENTS.name, type(mixup).__name__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ['batch', 'augment', 'Mixup']
    from minicls.models.utils import BATCH_AUGMENTS as used
    from minicls.registry import BATCH_AUGMENTS
    assert BATCH_AUGMENTS is used


def test_every_location_of_the_root_registries_exists():
    """A location that does not exist is skipped at lookup; none of minicls's may be dead."""
    import importlib.util
    for registry in (MODELS, DATASETS, TRANSFORMS, OPTIMIZERS, PARAM_SCHEDULERS, HOOKS, METRICS):
        for location in registry._locations:
            assert importlib.util.find_spec(location) is not None, (registry.name, location)
    assert MODELS.get('BN') is not None and MODELS.get('Linear') is not None  # minicls.cnn


@pytest.fixture
def models():
    """MODELS, restored after the test (the built-ins imported first, so they stay)."""
    before = dict(MODELS.module_dict)
    yield MODELS
    MODELS._module_dict.clear()
    MODELS._module_dict.update(before)


def test_models_builds_a_list_into_a_sequential(models):
    from minicls.nn import Module, Sequential

    @models.register_module(name='_TestStep')
    class Step(Module):
        def __init__(self, k):
            super().__init__()
            self.k = k

    result = models.build([dict(type='_TestStep', k=1), dict(type='_TestStep', k=2)])
    assert isinstance(result, Sequential)
    assert [step.k for step in result] == [1, 2]
    assert all(type(step) is Step for step in result)


def test_models_build_with_default_args(models):
    models.register_module('_TestPoint', module=Point)
    p = models.build(dict(type='_TestPoint', x=1), default_args=dict(y=5))
    assert (p.x, p.y) == (1, 5)


def test_a_user_class_registered_before_the_first_lookup_meets_the_builtins():
    """Registering under a built-in's name before any lookup must clash at once (or replace the
    built-in with force=True), never break the lazy import of the built-ins later."""
    import subprocess
    import sys
    code = '''
import minicls
from minicls.registry import MODELS
try:
    @MODELS.register_module()
    class L1Loss(minicls.nn.Module):
        pass
except KeyError as err:
    assert 'already registered' in str(err), err
else:
    raise SystemExit('no clash reported')

@MODELS.register_module(force=True)
class L1Loss(minicls.nn.Module):
    pass
assert MODELS.get('L1Loss') is L1Loss
assert MODELS.get('ResNet') is not None
print('ok')
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', out.stderr


def test_register_a_callable_whose_module_is_none(models):
    """Classes made by `type()` or exec without a module name have `__module__ = None`;
    registering them must work rather than crash on `None.startswith`."""
    Made = type('Made', (Point,), {'__module__': None})
    assert Made.__module__ is None
    models.register_module('_TestMade', module=Made)
    assert models.build(dict(type='_TestMade', x=1, y=2)).y == 2
