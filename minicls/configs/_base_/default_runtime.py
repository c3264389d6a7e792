# Runtime defaults (mmpretrain's configs/_base_/default_runtime.py, minus distributed settings).
default_scope = 'minicls'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),                 # data_time / time of each iteration
    logger=dict(type='LoggerHook', interval=100),     # a text log line every 100 iterations
    param_scheduler=dict(type='ParamSchedulerHook'),  # steps the LR schedule
    checkpoint=dict(type='CheckpointHook', interval=1),  # epoch_N.npz every epoch
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # stop at the first NaN/inf loss (a minicls default; None switches it off)
    check_invalid_loss=dict(type='CheckInvalidLossHook', interval=1),
)

log_level = 'INFO'
load_from = None   # a checkpoint to load weights from (not the optimizer): fine-tuning
resume = False     # True: continue from <work_dir>/last_checkpoint; or a checkpoint path
randomness = dict(seed=None, deterministic=False)
device = 'cpu'     # or 'cuda' (needs CuPy)
