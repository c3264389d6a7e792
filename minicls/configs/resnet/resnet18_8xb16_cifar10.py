# ResNet-18 on CIFAR-10, the mmpretrain recipe (200 epochs, batch 8 GPUs x 16 = 128).
# On one device use batch 128: --cfg-options train_dataloader.batch_size=128
# (or keep 16 and pass --auto-scale-lr). A GPU recipe: add --device cuda.
_base_ = [
    '../_base_/models/resnet18_cifar.py', '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py', '../_base_/default_runtime.py'
]
