# Nesterov SGD, momentum 0.85, batch 1024, about 10 epochs.
# The numbers follow the public fast-training records (which sum the loss over the batch);
# with minicls's mean loss the learning rate is multiplied by the batch size and the weight
# decay divided by it: lr 1.5, wd 1.33e-3, so lr * wd = 0.002 per step at the peak, for every
# parameter. BN and whitening biases learn 64x faster, with 64x less decay (same lr * wd).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1.5, momentum=0.85, nesterov=True, weight_decay=1.33e-3),
    paramwise_cfg=dict(custom_keys={
        '.bias': dict(lr_mult=64.0, decay_mult=1 / 64),
        'head.fc': dict(lr_mult=1.0, decay_mult=1.0)}))
# Triangular: from 0.2 x peak up to the peak at 23% of the steps (2.3 epochs), then down to
# 0.07 x peak at the end, step by step. LinearLR multiplies each group's own lr, so the biases
# keep their 64x (OneCycleLR's eta_max would set one lr for all groups).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=2.3, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.07, begin=2.3, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
