# CIFAR-10 in ten epochs on a CPU: FastCifarNet (0.12 GMAC/image), batch 1024, Nesterov SGD,
# triangular learning rate, label smoothing 0.2, a whitening first layer set from the training
# images, alternating flips, 2-pixel translations, weight averaging (EMA), BN statistics
# recomputed at the end (PreciseBN), and six-view TTA.
# See tutorials/13_training_fast.md for what each piece does.
# Measured on 2 CPU cores (CIFAR-10 re-encoded as JPEG, 3 seeds): 89.9% top-1, 90.5% with
# --tta, in 50 minutes from start to the end of the TTA test. The fast-training records reach
# 94% with this network on the original images; their own procedure, run on the same JPEG
# images, gives 90.7% (README: Results).
#   python -m minicls.train minicls/configs/fast_cifar/fast_cifar_net_1xb1024_cifar10.py
#   python -m minicls.test minicls/configs/fast_cifar/fast_cifar_net_1xb1024_cifar10.py \
#       work_dirs/fast_cifar_net_1xb1024_cifar10/epoch_10.npz --tta
# CIFAR-10 is read from datasets/cifar10 (downloaded there on first use, 163 MB, MD5-checked).
_base_ = ['./_base_/fast_cifar_net.py', './_base_/cifar10_bs1024.py',
          './_base_/sgd_nesterov_triangle.py', 'minicls::_base_/default_runtime.py']

custom_hooks = [
    dict(type='WhiteningInitHook', layer='backbone.whiten', num_images=5000, eps=5e-4),
    dict(type='EMAHook', momentum=0.05, begin_epoch=3),
    # BN statistics recomputed for the final (averaged) weights on 8 training batches: the
    # running ones lag behind weights that move fast
    dict(type='PreciseBNHook', num_samples=8192, interval=10),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
