"""Checks of the data against the model, run once at the start of ``Runner.train``.

``check_not_empty`` refuses a loader that gives no batch (an empty folder, ``indices=0``,
``drop_last`` with too few samples) before a whole epoch is spent finding out. Each other
mistake here would otherwise train without an error and give wrong results, or fail
much later with a message about shapes:

- the train and val data sets name different classes (or the same ones in another order),
  so label 3 means one class in training and another in validation;
- the number of classes differs from ``model.head.num_classes`` or
  ``data_preprocessor.num_classes``;
- the images have another number of channels than the model's first convolution (or the
  data preprocessor's ``mean``) expects, e.g. grayscale images for a 3-channel model.
"""
import os.path as osp

__all__ = ['check_datasets', 'check_not_empty']


def check_not_empty(key, loader):
    """``loader``, or a ValueError naming it, its data set and where that was read from
    when it gives no batch (an empty folder, ``indices=0``, ``drop_last`` with few samples)."""
    dataset = getattr(loader, 'dataset', None)
    if dataset is None or not hasattr(loader, '__len__') or len(loader):
        return loader
    ann_file = getattr(dataset, 'ann_file', '')
    source = (osp.join(getattr(dataset, 'data_root', ''), ann_file) if ann_file
              else getattr(dataset, 'data_prefix', None) or getattr(dataset, 'data_root', '?'))
    what = f'{type(dataset).__name__} data set of {key} (read from {source!r})'
    if len(dataset):
        raise ValueError(f'{key}: batch_size={loader.batch_size} with drop_last=True gives no '
                         f'batch from the {len(dataset)} samples of the {what}: use a smaller '
                         'batch_size or drop_last=False')
    raise ValueError(f'the {what} has no samples: check {key}.dataset (data_root, '
                     'data_prefix, ann_file, indices)')


def _where(dataset):
    """``'CustomDataset at /abs/folder'``: which data set a message is about."""
    name = type(dataset).__name__
    root = getattr(dataset, 'data_prefix', '') or getattr(dataset, 'data_root', '')
    return f'{name} at {osp.abspath(root)}' if root else name


def check_class_lists(train, val):
    """Refuse train and val data sets whose class names differ (names or order)."""
    a, b = getattr(train, 'CLASSES', None), getattr(val, 'CLASSES', None)
    if a is None or b is None or tuple(a) == tuple(b):
        return
    only_train = [c for c in a if c not in b]
    only_val = [c for c in b if c not in a]
    if only_train or only_val:
        diff = f'only in train: {only_train}; only in val: {only_val}'
    else:
        diff = f'the same names in another order: train {list(a)}, val {list(b)}'
    raise ValueError(f'the train and val data sets have different classes ({diff}). Train: '
                     f'{_where(train)}, val: {_where(val)}. Labels are positions in the class '
                     'list, so both must list the same classes in the same order: give both '
                     'the same metainfo=dict(classes=[...]), or make the class folders match.')


def check_num_classes(model, dataset, cfg):
    """Refuse a class count different from the head's / the data preprocessor's."""
    classes = getattr(dataset, 'CLASSES', None)
    if classes is None:
        return
    n = len(classes)
    pre_key = 'data_preprocessor' if cfg.get('data_preprocessor') is not None \
        else 'model.data_preprocessor'
    found = [('model.head.num_classes', getattr(getattr(model, 'head', None), 'num_classes',
                                                  None)),
             (f'{pre_key}.num_classes', getattr(getattr(model, 'data_preprocessor', None),
                                                'num_classes', None))]
    wrong = [(key, value) for key, value in found if value is not None and value != n]
    if wrong:
        said = ' and '.join(f'{key}={value}' for key, value in wrong)
        fix = ' '.join(f'{key}={n}' for key, _ in wrong)
        raise ValueError(f'the training data has {n} classes ({_where(dataset)}) but the config '
                         f'says {said}: set {" and ".join(k for k, _ in wrong)} to {n} in the '
                         f'config (or --cfg-options {fix})')


def _sample_channels(dataset):
    """The number of channels of the first training image, or None if unknown.

    Decodes the image as the pipeline's ``LoadImageFromFile`` does (no random transform runs,
    so the random state of the run is untouched)."""
    if not len(dataset) or not hasattr(dataset, 'get_data_info'):
        return None
    info = dataset.get_data_info(0)
    if 'img' not in info and 'img_path' in info:
        loaders = [t for t in getattr(getattr(dataset, 'pipeline', None), 'transforms', [])
                   if type(t).__name__ == 'LoadImageFromFile']
        if not loaders:
            return None
        info = loaders[0](info)
    img = info.get('img')
    if img is None or not hasattr(img, 'ndim'):
        return None
    return 1 if img.ndim == 2 else int(img.shape[-1])


def _model_channels(model):
    """``(where, channels)`` the model expects, from its first convolution, else None."""
    for name, module in model.named_modules():
        if type(module).__name__ == 'Conv2d' and hasattr(module, 'in_channels'):
            return f'model.{name} (Conv2d)', int(module.in_channels)
    return None


def check_channels(model, dataset):
    """Refuse images whose channel count differs from the model's first conv / ``mean``."""
    channels = _sample_channels(dataset)
    if channels is None:
        return
    expected = []
    conv = _model_channels(model)
    if conv is not None:
        expected.append(conv)
    pre = getattr(model, 'data_preprocessor', None)
    mean = getattr(pre, 'mean', None)
    if getattr(pre, '_enable_normalize', False) and mean is not None:
        expected.append(('data_preprocessor.mean', int(mean.shape[0])))
    wrong = [(where, c) for where, c in expected if c != channels]
    if not wrong:
        return
    said = ', '.join(f'{where} expects {c}' for where, c in wrong)
    if channels == 1:
        fix = ("load them as RGB with dict(type='LoadImageFromFile') (color_type='color', the "
               'default, repeats the gray channel), or give the model one input channel '
               "(e.g. model.backbone.in_channels=1) and data_preprocessor mean/std one value")
    else:
        fix = ('give the model that many input channels (e.g. model.backbone.in_channels='
               f'{channels}) and data_preprocessor mean/std {channels} values')
    raise ValueError(f'the training images of {_where(dataset)} have {channels} channel(s) but '
                     f'{said}: {fix}')


def check_datasets(model, train, val=None, cfg=None):
    """Run every check above; raises ``ValueError`` saying what to change."""
    if train is None:
        return
    if val is not None:
        check_class_lists(train, val)
    check_num_classes(model, train, cfg or {})
    check_channels(model, train)
