"""Tests for minicls.config: dicts of settings merged from Python (or JSON) files."""
import json
import sys

import pytest

from config_files import write
from minicls.config import Config, ConfigDict, merge_dicts
from minicls.registry import MODELS


# -- reading one file ---------------------------------------------------------------------------
def test_python_config_top_level_variables_become_keys(tmp_path):
    path = write(tmp_path / 'a.py', '''
        import os
        from os import path as osp

        def helper():
            return 1

        __hidden__ = 1
        lr = 0.1
        epochs = 2 * 100
        model = dict(type='ResNet', depth=18, out_indices=(3,))
    ''')
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == dict(lr=0.1, epochs=200,
                                 model=dict(type='ResNet', depth=18, out_indices=(3,)))
    assert cfg.filename == path
    assert 'epochs = 2 * 100' in cfg.text


def test_json_config(tmp_path):
    path = tmp_path / 'a.json'
    path.write_text(json.dumps(dict(model=dict(type='ResNet', depth=50), lr=0.01)))
    cfg = Config.fromfile(str(path))
    assert cfg.model.depth == 50 and cfg.lr == 0.01


def test_attribute_and_item_access(tmp_path):
    cfg = Config(dict(model=dict(backbone=dict(depth=18)),
                      pipeline=[dict(type='RandomFlip', prob=0.5)]))
    assert cfg.model.backbone.depth == 18
    assert cfg['model']['backbone']['depth'] == 18
    assert cfg.pipeline[0].prob == 0.5  # dicts inside lists get dots too
    assert isinstance(cfg.model, ConfigDict)
    assert 'model' in cfg and len(cfg) == 2 and list(cfg) == ['model', 'pipeline']
    assert cfg.get('missing', 3) == 3
    with pytest.raises(AttributeError, match='missing'):
        cfg.model.missing
    with pytest.raises(KeyError):
        cfg['missing']
    cfg.model.backbone.depth = 50
    cfg.work_dir = 'runs'
    cfg['seed'] = 0
    cfg.model.neck = dict(type='GlobalAveragePooling')
    assert cfg.model.backbone.depth == 50 and cfg.work_dir == 'runs' and cfg.seed == 0
    assert cfg.model.neck.type == 'GlobalAveragePooling'
    del cfg.seed
    assert 'seed' not in cfg


def test_config_dict_update_and_copy_keep_the_type():
    d = ConfigDict(a=1)
    d.update(b=dict(c=2))
    assert d.b.c == 2
    assert isinstance(d.copy(), ConfigDict)
    assert type(d.to_dict()['b']) is dict


def test_reserved_names(tmp_path):
    with pytest.raises(KeyError, match='filename is reserved for config file'):
        Config.fromfile(write(tmp_path / 'a.py', 'filename = 1\n'))
    with pytest.raises(KeyError, match='pretty_text is reserved'):
        Config(dict(pretty_text=1))


def test_config_needs_a_dict():
    with pytest.raises(TypeError, match='must be a dict'):
        Config([1, 2])
    assert Config().to_dict() == {}
    assert Config(Config(dict(a=1))).a == 1


def test_predefined_variables(tmp_path):
    path = write(tmp_path / 'exp' / 'my_exp.py', '''
        work_dir = '{{ fileDirname }}/work_dirs/{{fileBasenameNoExtension}}'
        names = ['{{ fileBasename }}', '{{ fileExtname }}']
    ''')
    cfg = Config.fromfile(path)
    assert cfg.work_dir == f'{tmp_path.as_posix()}/exp/work_dirs/my_exp'
    assert cfg.names == ['my_exp.py', '.py']
    raw = Config.fromfile(path, use_predefined_variables=False)
    assert raw.work_dir.startswith('{{ fileDirname }}')


# -- _base_ and the merge rules -----------------------------------------------------------------
def test_three_level_base_chain(tmp_path):
    write(tmp_path / '_base_' / 'default_runtime.py', '''
        default_hooks = dict(logger=dict(type='LoggerHook', interval=100))
        seed = 0
        model = dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=50,
                                                          num_stages=4))
    ''')
    write(tmp_path / '_base_' / 'models' / 'resnet18.py', '''
        _base_ = '../default_runtime.py'
        model = dict(backbone=dict(depth=18), head=dict(type='LinearClsHead', num_classes=10))
    ''')
    path = write(tmp_path / 'exps' / 'resnet18_cifar100.py', '''
        _base_ = ['../_base_/models/resnet18.py']
        model = dict(head=dict(num_classes=100))
        seed = 42
    ''')
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == dict(
        default_hooks=dict(logger=dict(type='LoggerHook', interval=100)),
        seed=42,
        model=dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18, num_stages=4),
                   head=dict(type='LinearClsHead', num_classes=100)))
    assert 'default_runtime.py' in cfg.text and 'resnet18_cifar100.py' in cfg.text


def test_non_dict_values_replace_wholesale(tmp_path):
    write(tmp_path / 'base.py', '''
        milestones = [100, 150]
        topk = (1, 5)
        name = 'base'
        head = dict(topk=(1, 5), loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
    ''')
    cfg = Config.fromfile(write(tmp_path / 'child.py', '''
        _base_ = 'base.py'
        milestones = [30]
        topk = (1,)
        name = None
        head = dict(topk=(1,))
    '''))
    assert cfg.milestones == [30] and cfg.topk == (1,) and cfg.name is None
    assert cfg.head.to_dict() == dict(topk=(1,), loss=dict(type='CrossEntropyLoss',
                                                           loss_weight=1.0))


def test_delete_discards_the_base_dict(tmp_path):
    write(tmp_path / 'base.py', '''
        param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[100, 150])
        model = dict(head=dict(type='LinearClsHead', num_classes=10, loss=dict(type='CE')))
    ''')
    cfg = Config.fromfile(write(tmp_path / 'child.py', '''
        _base_ = ['base.py']
        param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', T_max=200)
        model = dict(head=dict(loss=dict(_delete_=True, type='LabelSmoothLoss',
                                         label_smooth_val=0.1)))
    '''))
    assert cfg.param_scheduler.to_dict() == dict(type='CosineAnnealingLR', T_max=200)
    assert cfg.model.head.to_dict() == dict(
        type='LinearClsHead', num_classes=10,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
    assert '_delete_' not in cfg.pretty_text


def test_delete_also_replaces_a_non_dict(tmp_path):
    write(tmp_path / 'base.py', 'neck = None\n')
    cfg = Config.fromfile(write(tmp_path / 'child.py', '''
        _base_ = 'base.py'
        neck = dict(_delete_=True, type='GlobalAveragePooling')
    '''))
    assert cfg.neck.to_dict() == dict(type='GlobalAveragePooling')


def test_dict_over_non_dict_asks_for_delete(tmp_path):
    write(tmp_path / 'base.py', 'optimizer = None\n')
    path = write(tmp_path / 'child.py', '''
        _base_ = 'base.py'
        optimizer = dict(type='SGD')
    ''')
    with pytest.raises(TypeError, match='_delete_=True'):
        Config.fromfile(path)


def test_duplicate_keys_among_bases(tmp_path):
    write(tmp_path / 'a.py', 'model = dict(depth=18)\nlr = 0.1\n')
    write(tmp_path / 'b.py', 'model = dict(depth=50)\nepochs = 3\n')
    path = write(tmp_path / 'child.py', "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(KeyError, match="Duplicate key is not allowed among bases.*'model'"):
        Config.fromfile(path)


def test_child_reads_base_values(tmp_path):
    write(tmp_path / 'base.py', '''
        train_pipeline = [dict(type='RandomCrop', crop_size=32), dict(type='PackInputs')]
        model = dict(head=dict(num_classes=10))
    ''')
    cfg = Config.fromfile(write(tmp_path / 'child.py', '''
        _base_ = 'base.py'
        test_pipeline = _base_.train_pipeline[1:]
        model = _base_.model
        model.head.num_classes = 2 * _base_.model.head.num_classes
    '''))
    assert cfg.test_pipeline == [dict(type='PackInputs')]
    assert cfg.train_pipeline[0].crop_size == 32
    assert cfg.model.head.num_classes == 20
    assert '_base_' not in cfg


def test_json_child_with_base(tmp_path):
    write(tmp_path / 'base.py', "model = dict(type='ResNet', depth=18)\n")
    path = tmp_path / 'child.json'
    path.write_text(json.dumps({'_base_': 'base.py', 'model': {'depth': 34}}))
    assert Config.fromfile(str(path)).model.to_dict() == dict(type='ResNet', depth=34)


def test_merge_dicts_changes_neither_argument():
    base = dict(a=dict(b=1, c=[1, 2]), d=1)
    child = dict(a=dict(_delete_=True, b=2), e=dict(_delete_=True, f=1))
    merged = merge_dicts(child, base)
    assert merged == dict(a=dict(b=2), d=1, e=dict(f=1))
    assert base == dict(a=dict(b=1, c=[1, 2]), d=1)
    assert child['a'] == dict(_delete_=True, b=2)


# -- custom_imports -----------------------------------------------------------------------------
@pytest.fixture
def models():
    """MODELS, restored after the test (the built-ins imported first, so they stay)."""
    before = dict(MODELS.module_dict)
    yield MODELS
    MODELS._module_dict.clear()
    MODELS._module_dict.update(before)


def test_custom_imports_registers_a_user_module(tmp_path, monkeypatch, models):
    write(tmp_path / 'user_code' / 'my_toy_net.py', '''
        from minicls.registry import MODELS

        @MODELS.register_module()
        class MyToyNet:
            def __init__(self, width):
                self.width = width
    ''')
    monkeypatch.syspath_prepend(str(tmp_path / 'user_code'))
    monkeypatch.delitem(sys.modules, 'my_toy_net', raising=False)
    path = write(tmp_path / 'cfg.py', '''
        custom_imports = dict(imports=['my_toy_net'], allow_failed_imports=False)
        model = dict(type='MyToyNet', width=8)
    ''')
    assert 'MyToyNet' not in models
    cfg = Config.fromfile(path)
    assert 'MyToyNet' in models
    net = models.build(cfg.model)
    assert type(net).__name__ == 'MyToyNet' and net.width == 8
    monkeypatch.delitem(sys.modules, 'my_toy_net')


def test_custom_imports_failure_is_a_helpful_import_error(tmp_path):
    path = write(tmp_path / 'cfg.py', "custom_imports = dict(imports=['no_such_module_xyz'])\n")
    with pytest.raises(ImportError) as info:
        Config.fromfile(path)
    message = str(info.value)
    assert "'no_such_module_xyz'" in message and 'PYTHONPATH' in message
    cfg = Config.fromfile(path, import_custom_modules=False)  # not imported at all
    assert cfg.custom_imports.imports == ['no_such_module_xyz']


def test_custom_imports_allow_failed_imports_warns(tmp_path):
    path = write(tmp_path / 'cfg.py', '''
        custom_imports = dict(imports='no_such_module_xyz', allow_failed_imports=True)
    ''')
    with pytest.warns(UserWarning, match='no_such_module_xyz'):
        Config.fromfile(path)


# -- errors -------------------------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / 'nope.py'
    with pytest.raises(FileNotFoundError, match='nope.py'):
        Config.fromfile(str(missing))


def test_unsupported_extension(tmp_path):
    path = tmp_path / 'a.txt'
    path.write_text('a = 1')
    with pytest.raises(OSError, match='.py or .json'):
        Config.fromfile(str(path))


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path / 'broken.py', '''
        model = dict(type='ResNet')
        lr = = 0.1
    ''')
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(path)
    assert info.value.filename == path
    assert info.value.lineno == 3  # the text starts with an empty line


def test_invalid_json_names_file_and_line(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text('{\n "a": 1,\n}')
    with pytest.raises(ValueError, match=r'bad.json, line 3'):
        Config.fromfile(str(path))


def test_missing_base_file(tmp_path):
    path = write(tmp_path / 'child.py', "_base_ = ['../_base_/models/missing.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(path)
    assert 'child.py' in str(info.value) and 'missing.py' in str(info.value)


@pytest.mark.parametrize('text, error', [
    ('_base_ = 3\n', TypeError),
    ("_base_ = ['a.py', 1]\n", TypeError),
    ("name = 'a.py'\n_base_ = name\n", ValueError),  # must be written out literally
])
def test_bad_base_values(tmp_path, text, error):
    with pytest.raises(error, match='_base_'):
        Config.fromfile(write(tmp_path / 'child.py', text))


def test_base_cycle_is_reported(tmp_path):
    write(tmp_path / 'a.py', "_base_ = 'b.py'\n")
    path = write(tmp_path / 'b.py', "_base_ = 'a.py'\n")
    with pytest.raises(RecursionError, match='its own _base_'):
        Config.fromfile(path)
