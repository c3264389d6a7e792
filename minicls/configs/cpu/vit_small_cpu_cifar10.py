# CIFAR-10 on a CPU: a small Vision Transformer with 4x4 patches (8x8 = 64 tokens + the class
# token), 6 layers of 96 channels, 3 heads, FFN 192 (0.46M parameters), batch 128, AdamW with
# warm-up + cosine, RandomCrop + flip as the reference CIFAR pipeline. No weight decay on the
# class token, the position embeddings, the LayerNorms and the biases.
# Measured on 2 cores: 68.66% top-1 in 41.8 minutes (10 epochs); see the README.
#   python -m minicls.train minicls/configs/cpu/vit_small_cpu_cifar10.py
_base_ = ['../_base_/datasets/cifar10_bs16.py', '../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(embed_dims=96, num_layers=6, num_heads=3, feedforward_channels=192),
        img_size=32, patch_size=4, drop_rate=0.0, drop_path_rate=0.1,
        init_cfg=[dict(type='Kaiming', layer='Conv2d', mode='fan_in', nonlinearity='linear')]),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=96,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0)))

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=500)
test_dataloader = dict(batch_size=500)

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       custom_keys={'.cls_token': dict(decay_mult=0.0),
                                    '.pos_embed': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=1.0))
max_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=2)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'))
randomness = dict(seed=0)
