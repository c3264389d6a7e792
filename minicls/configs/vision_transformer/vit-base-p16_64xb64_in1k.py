# ViT-Base/16 on ImageNet-1k, mmpretrain's recipe (64 devices x 64 images, 300 epochs, AdamW),
# with the plain ImageNet pipeline (mmpretrain's adds AutoAugment, which minicls lacks).
_base_ = [
    '../_base_/models/vit-base-p16.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs4096_AdamW.py', '../_base_/default_runtime.py'
]
model = dict(head=dict(hidden_dim=3072))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
