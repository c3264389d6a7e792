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
# Triangular: from 0.2 x peak up to the peak at 23% of the steps, then down to 0.07 x peak.
param_scheduler = dict(type='OneCycleLR', eta_max=1.5, pct_start=0.23, div_factor=5,
                       final_div_factor=0.2 / 0.07, anneal_strategy='linear', by_epoch=True,
                       total_steps=10, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
