"""mmpretrain 0.x-style names: BACKBONES, NECKS, HEADS, LOSSES, CLASSIFIERS are all MODELS."""
from minicls.registry import MODELS

BACKBONES = NECKS = HEADS = LOSSES = CLASSIFIERS = MODELS

__all__ = ['BACKBONES', 'NECKS', 'HEADS', 'LOSSES', 'CLASSIFIERS', 'build_backbone',
           'build_neck', 'build_head', 'build_loss', 'build_classifier']


def build_backbone(cfg):
    return BACKBONES.build(cfg)


def build_neck(cfg):
    return NECKS.build(cfg)


def build_head(cfg):
    return HEADS.build(cfg)


def build_loss(cfg):
    return LOSSES.build(cfg)


def build_classifier(cfg):
    return CLASSIFIERS.build(cfg)
