"""Configs: dicts of settings merged from Python (or JSON) files; see ``config.py``."""
from .cfg_options import DictAction, parse_cfg_options, parse_value
from .config import Config, merge_dicts
from .config_dict import ConfigDict

__all__ = ['Config', 'ConfigDict', 'DictAction', 'parse_cfg_options', 'parse_value',
           'merge_dicts']
