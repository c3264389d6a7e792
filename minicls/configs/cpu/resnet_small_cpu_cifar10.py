# CIFAR-10 on a laptop CPU: ResNet-18 for CIFAR (4 stages of two basic blocks) at a quarter of
# the reference width (16/32/64/128 channels, 701k parameters), batch 128, OneCycle LR, 18 epochs,
# tested every 3rd epoch. Measured on 2 CPU cores: 85.48% top-1 in 56.4 minutes; 86.41% with
# `python -m minicls.test ... --tta` (flip test-time augmentation). With 15 epochs it gave 84.56%.
# The 3-stage 16/32/64 version (175k parameters) had stopped improving at about 84.3%.
# It reads CIFAR-10 in the official batch format from datasets/cifar10: downloaded there on
# first use (163 MB, MD5-checked); offline, put cifar-10-python.tar.gz from
# https://www.cs.toronto.edu/~kriz/cifar.html into datasets/cifar10/ and it is extracted.
# From a folder of 32x32 images (train/<class>/, test/<class>/), convert once:
#   python -m minicls.tools.folder_to_cifar /data/cifar10_images datasets/cifar10
#   python -m minicls.train minicls/configs/cpu/resnet_small_cpu_cifar10.py
_base_ = ['../_base_/datasets/cifar10_bs16.py', '../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16,
                  num_stages=4, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0)))

# Data, normalisation and augmentation as the reference recipe (RandomCrop with padding 4,
# horizontal flips); only the batch sizes and the top-5 metric differ.
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=500)
test_dataloader = dict(batch_size=500)
val_evaluator = dict(topk=(1, 5))
test_evaluator = dict(topk=(1, 5))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# 1cycle: lr rises from 0.008 to 0.2 over the first 25% of the iterations, then anneals.
param_scheduler = dict(type='OneCycleLR', eta_max=0.2, pct_start=0.25, by_epoch=True,
                       total_steps=18, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=18, val_interval=3)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
randomness = dict(seed=0)
