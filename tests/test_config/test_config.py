"""Tests for minicls.config: dicts of settings merged from Python (or JSON) files."""
import copy
import json
import pickle
import sys
import textwrap

import pytest

from minicls.config import Config, ConfigDict, merge_dicts
from minicls.registry import MODELS


def write(path, text):
    """Write a config file (creating folders) and return its path as a str."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


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


# -- dump, pretty_text, copies ------------------------------------------------------------------
def rich_cfg():
    return Config(dict(
        model=dict(type='ImageClassifier',
                   backbone=dict(type='ResNet', depth=18, out_indices=(3,), style='pytorch'),
                   head=dict(type='LinearClsHead', num_classes=10, topk=(1, 5),
                             loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
        train_pipeline=[dict(type='RandomCrop', crop_size=32, padding=4),
                        dict(type='RandomFlip', prob=0.5, direction='horizontal')],
        mean=[125.307, 122.961, 113.8575], flags=dict(on=True, off=False, nothing=None),
        odd_keys={'not-a-name': 1, 'class': 2, 3: 'three'}, big=float('inf'),
        message="it's \"quoted\"\n", empty=dict(), empty_list=[]))


def test_dump_python_round_trip(tmp_path):
    cfg = rich_cfg()
    path = tmp_path / 'dumped.py'
    assert cfg.dump(str(path)) is None
    again = Config.fromfile(str(path))
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()
    assert again.model.backbone.out_indices == (3,)


def test_dump_json_round_trip(tmp_path):
    cfg = Config(dict(model=dict(type='ResNet', depth=18), milestones=[1, 2], lr=0.1))
    path = tmp_path / 'dumped.json'
    cfg.dump(str(path))
    assert Config.fromfile(str(path)) == cfg


def test_dump_of_a_file_config_with_bases(tmp_path):
    write(tmp_path / 'base.py', "model = dict(type='ResNet', depth=18)\nlr = 0.1\n")
    cfg = Config.fromfile(write(tmp_path / 'child.py', '''
        _base_ = 'base.py'
        model = dict(depth=34)
    '''))
    out = tmp_path / 'out' / 'config.py'
    out.parent.mkdir()
    cfg.dump(str(out))
    assert '_base_' not in out.read_text()
    assert Config.fromfile(str(out)).to_dict() == dict(model=dict(type='ResNet', depth=34),
                                                       lr=0.1)


def test_dump_without_file_returns_text_and_rejects_other_extensions(tmp_path):
    cfg = Config(dict(a=1))
    assert cfg.dump() == 'a = 1\n'
    with pytest.raises(OSError):
        cfg.dump(str(tmp_path / 'a.yaml'))


def test_pretty_text_is_python_and_short_values_stay_on_one_line():
    cfg = rich_cfg()
    text = cfg.pretty_text
    namespace = {}
    exec(text, namespace)
    assert namespace['model'] == cfg.model.to_dict()
    assert "    backbone=dict(type='ResNet', depth=18, out_indices=(3,), style='pytorch'),\n" \
        in text
    assert 'lr = 0.1\n' == Config(dict(lr=0.1)).pretty_text
    assert all(len(line) <= 90 for line in text.splitlines())


def test_copy_and_deepcopy():
    cfg = rich_cfg()
    shallow = cfg.copy()
    shallow.seed = 1
    assert 'seed' not in cfg
    deep = copy.deepcopy(cfg)
    deep.model.backbone.depth = 50
    assert cfg.model.backbone.depth == 18
    assert isinstance(deep, Config) and isinstance(deep.model, ConfigDict)
    assert copy.copy(cfg) == cfg


def test_to_dict_is_plain_and_pickle_round_trips():
    cfg = rich_cfg()
    plain = cfg.to_dict()
    assert type(plain) is dict and type(plain['model']['backbone']) is dict
    assert type(plain['train_pipeline'][0]) is dict
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and again.model.head.num_classes == 10


# -- minicls:: bases and the config text a checkpoint holds --------------------------------------
def test_package_scoped_bases_resolve_inside_minicls_from_any_folder(tmp_path):
    from minicls.configs import find_config
    shipped = find_config('resnet18_folder_dataset')
    copied = tmp_path / 'elsewhere' / 'my_folder_config.py'
    copied.parent.mkdir()
    copied.write_text(open(shipped).read())   # the header says: copy this file anywhere
    cfg = Config.fromfile(str(copied))
    assert cfg == Config.fromfile(shipped)
    assert cfg.default_hooks.timer.type == 'IterTimerHook'   # from minicls::_base_/...
    path = write(tmp_path / 'two.py', '''
        _base_ = ['minicls::_base_/default_runtime.py', 'minicls::_base_/datasets/cifar10_bs16.py']
        ''')
    assert Config.fromfile(path).train_dataloader.dataset.type == 'CIFAR10'
    with pytest.raises(FileNotFoundError, match="'minicls::' only"):
        Config.fromfile(write(tmp_path / 'mm.py', "_base_ = ['mmpretrain::_base_/x.py']\n"))
    with pytest.raises(FileNotFoundError, match='nope.py'):
        Config.fromfile(write(tmp_path / 'no.py', "_base_ = ['minicls::_base_/nope.py']\n"))


def test_config_text_is_read_back_without_running_it(tmp_path):
    from minicls.config.errors import ConfigError
    from minicls.configs import find_config
    cfg = Config.fromfile(find_config('resnet_small_cpu_cifar10'))
    cfg.merge_from_dict({'train_cfg.max_epochs': 3, 'x': dict(inf=float('inf'), neg=-1.5,
                                                              keys={1: 'a'}, t=(1, ))})
    back = Config.from_pretty_text(cfg.pretty_text)
    assert back == cfg and back.x.inf == float('inf') and back.x.t == (1, )
    marker = tmp_path / 'ran'
    for code in [f'x = open({str(marker)!r}, "w")', 'import os', 'x = [print(1)]',
                 'x = dict(**{"a": 1})', 'x.y = 1']:
        with pytest.raises(ConfigError):
            Config.from_pretty_text(code)
    assert not marker.exists()


def test_check_keys_suggests_the_nearest_and_can_shorten_the_list():
    from minicls.config.errors import ConfigKeyError, check_keys
    allowed = [f'layer{i}.weight' for i in range(10)] + ['head.fc.bias']
    check_keys(['head.fc.bias'], allowed, 'the model')              # known: nothing raised
    with pytest.raises(ConfigKeyError) as info:
        check_keys(['head.fc.bais'], allowed, 'the model', what='parameter', max_listed=2)
    assert str(info.value) == ("the model has no parameter 'head.fc.bais'. Did you mean "
                               "'head.fc.bias'? Valid parameters: head.fc.bias, "
                               "layer0.weight, ...")
    with pytest.raises(ConfigKeyError, match='layer9.weight$'):       # no cap: all of them
        check_keys(['x'], allowed, 'the model')
