# The MNIST subset shipped inside minicls (12,000 train / 2,000 test, 28x28 grayscale):
# works offline, nothing to download. Images come out as (1, 28, 28) uint8.
dataset_type = 'EmbeddedMNIST'
data_preprocessor = dict(
    num_classes=10,
    mean=[33.32],   # 0.1307 * 255: the MNIST mean on the 0-255 scale
    std=[78.57],    # 0.3081 * 255
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),  # shift digits by up to 2 px
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=1,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=250,
    num_workers=1,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
