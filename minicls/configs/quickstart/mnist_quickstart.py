# The quickstart: `python -m minicls.train` with no config runs this file.
# A small ResNet on the MNIST subset shipped with minicls; a few minutes on a laptop CPU.
_base_ = ['../_base_/datasets/mnist_embedded.py', '../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',       # 3x3 stem, no max-pool
        depth=18,                  # two BasicBlocks per stage
        in_channels=1,             # grayscale
        stem_channels=16,
        base_channels=16,          # stages of 16, 32, 64 channels
        num_stages=3,
        strides=(2, 2, 2),         # 28 -> 14 -> 7 -> 4 pixels: cheap on a CPU
        dilations=(1, 1, 1),
        out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    # warm up over the first epoch, one step per iteration
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    # then a cosine down to 0 by the last epoch, also per iteration
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'))
randomness = dict(seed=0)
work_dir = './work_dirs/mnist_quickstart'
