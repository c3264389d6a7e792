"""--cfg-options (minicls/config/cfg_options.py): dotted keys and list indices merged into a
config, values parsed as Python literals, and checked against the values they replace."""
import argparse

import pytest

from minicls.config import Config, DictAction, parse_cfg_options
from minicls.config.cfg_options import parse_value

# -- merge_from_dict and --cfg-options ----------------------------------------------------------
def make_train_cfg():
    return Config(dict(
        model=dict(backbone=dict(type='ResNet', depth=18)),
        train_dataloader=dict(dataset=dict(pipeline=[dict(type='RandomCrop', crop_size=32),
                                                     dict(type='RandomFlip', prob=0.5)]))))


def test_merge_from_dict_dotted_keys_and_list_indices():
    cfg = make_train_cfg()
    cfg.merge_from_dict({'model.backbone.depth': 50,
                         'model.head.num_classes': 10,
                         'train_dataloader.dataset.pipeline.1.prob': 0.0,
                         'work_dir': 'runs/x'})
    assert cfg.model.backbone.to_dict() == dict(type='ResNet', depth=50)
    assert cfg.model.head.num_classes == 10
    assert cfg.train_dataloader.dataset.pipeline[1].to_dict() == dict(type='RandomFlip',
                                                                      prob=0.0)
    assert cfg.train_dataloader.dataset.pipeline[0].crop_size == 32
    assert cfg.work_dir == 'runs/x'


def test_merge_from_dict_list_index_errors():
    cfg = make_train_cfg()
    with pytest.raises(KeyError, match='out of range'):
        cfg.merge_from_dict({'train_dataloader.dataset.pipeline.5.prob': 0.0})
    with pytest.raises(TypeError, match='_delete_'):
        cfg.merge_from_dict({'train_dataloader.dataset.pipeline.1.prob': 0.0},
                            allow_list_keys=False)


def test_merge_from_dict_whole_values_replace():
    cfg = make_train_cfg()
    cfg.merge_from_dict({'train_dataloader.dataset.pipeline': [dict(type='PackInputs')]})
    assert cfg.train_dataloader.dataset.pipeline == [dict(type='PackInputs')]


@pytest.mark.parametrize('text, value', [
    ('1', 1), ('-3', -3), ('0.1', 0.1), ('1e-4', 1e-4),
    ('true', True), ('False', False), ('None', None),
    ('none', 'none'), ('ResNet', 'ResNet'), ('"7"', '7'), ("'a b'", 'a b'),
    ('[1,2]', [1, 2]), ('(1,2)', (1, 2)), ('1,2', [1, 2]), ('(1,)', (1,)), ('[]', []),
    ('[(1,2),(3,4)]', [(1, 2), (3, 4)]), ('[a,[b,(1,True)]]', ['a', ['b', (1, True)]]),
    ('[1, 2.5, x]', [1, 2.5, 'x']), ('[1],[2]', [[1], [2]]),
])
def test_parse_value(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_value_unbalanced_brackets():
    with pytest.raises(ValueError, match='unbalanced'):
        parse_value('[1,2')


def test_parse_cfg_options():
    assert parse_cfg_options(['model.backbone.depth=50', 'lr=0.01', 'topk=(1,5)',
                              'name=a=b']) == {'model.backbone.depth': 50, 'lr': 0.01,
                                               'topk': (1, 5), 'name': 'a=b'}
    with pytest.raises(ValueError, match='key=value'):
        parse_cfg_options(['depth50'])


def test_dict_action_with_argparse_accumulates():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'model.backbone.depth=50', 'a=[1,2]',
                              '--cfg-options', 'train_dataloader.dataset.pipeline.1.prob=0'])
    assert args.cfg_options == {'model.backbone.depth': 50, 'a': [1, 2],
                                'train_dataloader.dataset.pipeline.1.prob': 0}
    cfg = make_train_cfg()
    cfg.merge_from_dict(args.cfg_options)
    assert cfg.model.backbone.depth == 50 and cfg.a == [1, 2]
    assert cfg.train_dataloader.dataset.pipeline[1].prob == 0
    assert parser.parse_args([]).cfg_options is None


# -- --cfg-options values are checked against the values they replace --------------------------
def test_cfg_option_values_must_fit_the_config():
    from minicls.config.cfg_options import check_option_types
    from minicls.config.errors import ConfigError
    cfg = Config(dict(train_cfg=dict(max_epochs=12), optim=dict(lr=0.1), flag=True,
                      pipeline=[dict(prob=0.5)], evaluator=dict(topk=1)))

    def check(option):
        return check_option_types(cfg, parse_cfg_options([option]))
    for option, says in [
            ('train_cfg.max_epochs=abc', "train_cfg.max_epochs='abc': train_cfg.max_epochs must "
                                         'be an integer (the config has 12)'),
            ('train_cfg.max_epochs=2.5', 'max_epochs must be an integer'),  # not silently 2
            ('optim.lr=1e-x', 'optim.lr must be a number such as 0.1 or 1e-3 (the config has '
                              '0.1)'),
            ('flag=1', 'flag must be True or False'),
            ('pipeline.0.prob=high', 'pipeline.0.prob must be a number'),
            ('train_cfg.max_epochs.x=1', 'train_cfg.max_epochs is 12 in the config, which has '
                                         "no entry 'x'")]:
        with pytest.raises(ConfigError) as info:
            check(option)
        assert says in str(info.value), option
    assert check('train_cfg.max_epochs=2.0') == {'train_cfg.max_epochs': 2}
    assert check('optim.lr=1') == {'optim.lr': 1}
    assert check('evaluator.topk=(1,5)') == {'evaluator.topk': (1, 5)}  # structure may change
    assert check('train_cfg.new=x') == {'train_cfg.new': 'x'}  # the runner checks the keys
    assert check('train_cfg.max_epochs=None') == {'train_cfg.max_epochs': None}
