"""Backbones: networks that turn images into feature maps (a tuple, one per stage)."""
from .fast_cifar_net import FastCifarNet
from .mobilenet_v2 import InvertedResidual, MobileNetV2
from .resnet import BasicBlock, Bottleneck, ResLayer, ResNet, ResNetV1c, ResNetV1d
from .resnet_cifar import ResNet_CIFAR
from .vision_transformer import TransformerEncoderLayer, VisionTransformer

__all__ = ['ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNet_CIFAR', 'BasicBlock', 'Bottleneck',
           'ResLayer', 'MobileNetV2', 'InvertedResidual', 'VisionTransformer',
           'TransformerEncoderLayer', 'FastCifarNet']
