"""Tests for minicls.config: writing configs back (dump, pretty_text), copies, ``minicls::``
bases and the config text a checkpoint holds. (Reading and merging: test_config.py.)"""
import copy
import pickle

import pytest

from config_files import write
from minicls.config import Config, ConfigDict


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
