"""The plain config sections the runner reads (``train_cfg``, ``val_cfg``, ``test_cfg``,
``auto_scale_lr``, ``randomness``, the dataloaders) and the keys each may hold.

``check_sections(cfg)`` refuses any other key, naming the nearest valid one, so that a typo such
as ``--cfg-options train_cfg.max_epoch=1`` is an error instead of silently doing nothing.
"""
from minicls.config.errors import ConfigError, ConfigTypeError, check_keys

__all__ = ['SECTION_KEYS', 'check_sections']

# The keys of each section, as mmengine's loops and runner take them.
SECTION_KEYS = dict(
    train_cfg=('type', 'by_epoch', 'max_epochs', 'val_interval', 'val_begin'),
    val_cfg=('type', ),
    test_cfg=('type', ),
    auto_scale_lr=('enable', 'base_batch_size'),
    # deterministic: minicls always is, for a given thread count; diff_rank_seed: see below
    randomness=('seed', 'deterministic', 'diff_rank_seed'),
)
LOOP_TYPES = dict(train_cfg='EpochBasedTrainLoop', val_cfg='ValLoop', test_cfg='TestLoop')


def check_sections(cfg):
    """Refuse unknown keys in ``train_cfg``, ``val_cfg``, ... (see ``SECTION_KEYS``) and in
    the dataloader dicts (before any of them is built)."""
    from minicls.datasets.dataloader import _LOADER_KEYS
    loaders = {k: _LOADER_KEYS for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    for section, keys in dict(SECTION_KEYS, **loaders).items():
        value = cfg.get(section)
        if section in SECTION_KEYS and not isinstance(value, (dict, type(None))):
            raise ConfigTypeError(f'{section} must be a dict, e.g. {section}=dict(), but got '
                                  f'{value!r}')
        if isinstance(value, dict):
            check_keys(value, keys, section)
        if section == 'randomness' and value and value.get('diff_rank_seed'):
            raise ConfigError('randomness.diff_rank_seed=True is not supported: every rank '
                              "uses rank 0's seed (the same initial weights) and the data "
                              'augmentation already differs per rank; remove it')
        loop = LOOP_TYPES.get(section)
        if loop and value and value.get('type', loop) != loop:
            raise ConfigError(f'{section}: minicls has the {loop} only, not '
                              f'{value["type"]!r}; remove the type')
