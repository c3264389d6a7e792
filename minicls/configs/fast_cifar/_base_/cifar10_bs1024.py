# CIFAR-10, batch 1024: translate by up to 2 pixels (reflect padding) and alternating flips.
dataset_type = 'CIFAR10'
data_root = 'datasets/cifar10'
data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],   # RGB, 0-255 scale
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=2, padding_mode='reflect'),
    dict(type='AlternatingFlip'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=1024,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=1000,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
# `python -m minicls.test ... --tta`: each image, moved by one pixel down-right and up-left,
# each mirrored: six views.
tta_model = dict(type='AverageClsScoreTTA', flip=True, shifts=((0, 0), (1, 1), (-1, -1)))
