"""Backbones: networks that turn images into feature maps (a tuple, one per stage)."""
from .fast_cifar_net import FastCifarNet
from .resnet import BasicBlock, Bottleneck, ResLayer, ResNet, ResNetV1c, ResNetV1d
from .resnet_cifar import ResNet_CIFAR

__all__ = ['FastCifarNet', 'ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNet_CIFAR', 'BasicBlock', 'Bottleneck',
           'ResLayer']
