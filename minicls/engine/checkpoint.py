"""Checkpoints, where mmengine keeps them (``mmengine.runner.checkpoint``).

The file format and ``load_state_dict`` live in :mod:`minicls.io.checkpoint`, beside the other
readers of weight files, so that the models (``init_cfg=dict(type='Pretrained')``) can load
weights without importing the engine. The names are re-exported here for the engine and for
code written against this module.
"""
from minicls.io.checkpoint import (CheckpointError, atomic_write, load_checkpoint,
                                   load_state_dict, remove_stale_temp_files, save_checkpoint)

__all__ = ['save_checkpoint', 'load_checkpoint', 'CheckpointError', 'load_state_dict',
           'atomic_write', 'remove_stale_temp_files']
