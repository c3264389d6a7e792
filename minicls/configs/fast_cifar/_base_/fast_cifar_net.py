# FastCifarNet: a fixed 2x2 whitening conv (24 filters), then 3 groups of
# conv-pool-BN-GELU-conv-BN-GELU of widths 64/256/256, a global max-pool and a linear layer.
# 0.12 GMAC and 1.97 M parameters per 32x32 image. BN: scale frozen at 1, eps 1e-12, momentum
# 0.4 (PyTorch convention: running = 0.6 * running + 0.4 * batch). The first filters of each
# 3x3 conv start as identities (dirac_init); the head keeps PyTorch's default Linear init
# (uniform within 1/sqrt(256)) rather than mmpretrain's N(0, 0.01).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='FastCifarNet', widths=(64, 256, 256), depths=2,
                  norm_cfg=dict(type='BN', momentum=0.4, eps=1e-12), norm_weight=False,
                  act_cfg=dict(type='GELU'), out_scale=1 / 9, dirac_init=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256, init_cfg=None,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.2, mode='original')))
