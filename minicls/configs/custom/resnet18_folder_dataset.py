# Train on your own images: one sub-folder per class.
#
#   data/my_dataset/train/cat/001.jpg ...   data/my_dataset/val/cat/101.jpg ...
#   data/my_dataset/train/dog/002.jpg ...   data/my_dataset/val/dog/102.jpg ...
#
# Labels are the folder names in sorted order. Copy this file to any folder, set `data_root`
# and `num_classes` (your number of folders) below, and run
#   python -m minicls.train my_folder_config.py
# (`minicls::` in _base_ names a file shipped with minicls, wherever this file is.)
# (variables are read when the file loads: --cfg-options data_root=... would not reach the
# dataset dicts; override train_dataloader.dataset.data_root=... instead).
# Images of any size are resized to 64x64 here.
_base_ = ['minicls::_base_/default_runtime.py']

data_root = 'data/my_dataset'
num_classes = 2

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=32, base_channels=32,
                  num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],   # ImageNet statistics, RGB, 0-255 scale
    std=[58.395, 57.12, 57.375],
    to_rgb=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=72, edge='short'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))   # add 5 with >= 5 classes
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'))
