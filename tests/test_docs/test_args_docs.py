"""Classes built from config dicts document their config keys in an mmpretrain-style
``Args:`` block: every registered class with three or more keys, and the ResNet blocks that
``ResNet`` builds from its keys."""
import inspect

import pytest

import minicls.datasets  # noqa: F401 (these imports fill the registries)
import minicls.engine  # noqa: F401
import minicls.evaluation  # noqa: F401
import minicls.models  # noqa: F401
from minicls import registry
from minicls.models.backbones.resnet_blocks import BasicBlock, Bottleneck, ResLayer

SKIPPED_PARAMS = {'self', 'params', 'optimizer'}   # passed by the builder, not config keys


def config_keys(cls):
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params
            if p.name not in SKIPPED_PARAMS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def documented_classes():
    found = {BasicBlock, Bottleneck, ResLayer}
    for name in dir(registry):
        table = getattr(registry, name)
        if isinstance(table, registry.Registry):
            found |= {c for c in table.module_dict.values() if inspect.isclass(c)}
    return sorted((c for c in found if len(config_keys(c)) >= 3
                   and c.__module__.startswith('minicls.')), key=lambda c: c.__name__)


def docs_of(cls):
    """The class's docstring and those of its minicls bases: "Args: as CIFAR10's" is fine."""
    return '\n'.join(inspect.getdoc(base) or '' for base in cls.__mro__
                     if base.__module__.startswith('minicls.'))


CLASSES = documented_classes()


@pytest.mark.parametrize('cls', CLASSES, ids=[c.__name__ for c in CLASSES])
def test_config_keys_are_documented_in_an_args_block(cls):
    own = inspect.getdoc(cls) or ''
    assert 'Args' in own, f'{cls.__name__} has no Args: block'
    missing = [key for key in config_keys(cls) if key not in docs_of(cls)]
    assert not missing, f'{cls.__name__} does not document {missing}'


def test_the_classes_that_need_it_are_found():
    names = {c.__name__ for c in CLASSES}
    assert {'BasicBlock', 'Bottleneck', 'ResLayer', 'ResNet', 'CrossEntropyLoss',
            'LinearClsHead', 'OneCycleLR', 'Conv2d'} <= names
