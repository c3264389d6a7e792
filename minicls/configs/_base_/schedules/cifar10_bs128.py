# mmpretrain's CIFAR schedule: SGD 0.1, lr x0.1 at epochs 100 and 150, 200 epochs, batch 128.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[100, 150], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# `--auto-scale-lr` scales lr by (your batch size) / base_batch_size.
auto_scale_lr = dict(base_batch_size=128)
