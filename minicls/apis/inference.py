"""Classify one image: ``inference_model(model_or_config, image, checkpoint=None)``.

::

    from minicls.apis import inference_model
    result = inference_model('work_dirs/mnist_quickstart/mnist_quickstart.py', 'digit.png',
                             checkpoint='work_dirs/mnist_quickstart/epoch_6.npz')
    result['pred_class'], result['pred_score']

The image goes through the config's test pipeline (as in testing), then the model's data
preprocessor, then ``model(..., mode='predict')``.
"""
import copy
import os.path as osp

import numpy as np

import minicls
from minicls.config import Config
from minicls.registry import MODELS

__all__ = ['get_model', 'init_model', 'inference_model']


def _load_config(config):
    if isinstance(config, Config):
        return copy.deepcopy(config)
    if isinstance(config, dict):
        return Config(copy.deepcopy(config))
    from minicls.configs import find_config
    return Config.fromfile(find_config(str(config)))


def get_model(config, checkpoint=None, device=None):
    """Build the model of ``config`` (a Config, a path or a shipped config name), load
    ``checkpoint`` weights, put it in eval mode on ``device``. The model keeps the config in
    ``model.cfg`` and the class names (from the checkpoint, else the config) in
    ``model.dataset_meta``."""
    cfg = _load_config(config)
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        preprocessor = cfg.data_preprocessor
        model_cfg.setdefault('data_preprocessor', preprocessor.to_dict()
                             if hasattr(preprocessor, 'to_dict') else dict(preprocessor))
    model_cfg.pop('init_cfg', None) if checkpoint else None
    model = MODELS.build(model_cfg)
    meta = {}
    if checkpoint is not None:
        from minicls.io import (cached_download, is_url, load_checkpoint, load_state_dict,
                                load_weights)
        if is_url(checkpoint):  # downloaded once into the cache (see minicls.io.hub)
            checkpoint = cached_download(checkpoint)
        if str(checkpoint).endswith('.npz'):
            ckpt = load_checkpoint(checkpoint)
            state = ckpt['state_dict']
            meta = (ckpt.get('meta') or {}).get('dataset_meta') or {}
        else:
            state = load_weights(checkpoint)
        # strict: predicting with a model whose weights did not all load would be wrong
        load_state_dict(model, state, strict=True, source=str(checkpoint))
    elif hasattr(model, 'init_weights'):
        model.init_weights()
    if not meta.get('classes'):
        meta = {'classes': _classes_from_cfg(cfg)} if _classes_from_cfg(cfg) else {}
    model.dataset_meta = meta
    model.cfg = cfg
    if device is not None and device != 'cpu':
        model.to(device)
    model.eval()
    return model


init_model = get_model  # the older mmpretrain name


def _classes_from_cfg(cfg):
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        dataset = loader.get('dataset', {})
        classes = dataset.get('classes') or (dataset.get('metainfo') or {}).get('classes')
        if classes:
            return list(classes)
        from minicls.registry import DATASETS
        cls = DATASETS.get(dataset.get('type', ''))
        if cls is not None and getattr(cls, 'METAINFO', None):
            return list(cls.METAINFO.get('classes', ()))
    return None


def _test_pipeline(cfg):
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset', {}).get('pipeline') is not None:
            return [dict(t) for t in loader['dataset']['pipeline']]
    return [dict(type='PackInputs')]


def _channels(model):
    mean = getattr(model.data_preprocessor, 'mean', None)
    if mean is not None and hasattr(mean, 'shape'):
        return int(np.prod(mean.shape))
    return 3


def inference_model(model, image, checkpoint=None, device=None):
    """Classify one image.

    Args:
        model: a built model (from :func:`get_model`), or a config (path, name, Config).
        image: a file path or an HWC uint8 array.
        checkpoint (str, optional): weights, when ``model`` is a config.

    Returns:
        dict: ``pred_scores`` (C,) float array, ``pred_label`` int, ``pred_score`` float and
        ``pred_class`` str (when class names are known).
    """
    if not isinstance(model, minicls.nn.Module):
        model = get_model(model, checkpoint=checkpoint, device=device)
    from minicls.datasets.transforms import Compose
    cfg = getattr(model, 'cfg', None)
    pipeline = _test_pipeline(cfg) if cfg is not None else [dict(type='PackInputs')]
    loads = pipeline and pipeline[0].get('type') == 'LoadImageFromFile'
    if isinstance(image, (str, bytes)) or hasattr(image, '__fspath__'):
        path = str(image)
        if not osp.isfile(path):
            raise FileNotFoundError(f'image not found: {path}')
        if loads:
            results = {'img_path': path}
        else:  # the data set held arrays (MNIST, CIFAR): read the file to match the model
            from PIL import Image
            mode = 'L' if _channels(model) == 1 else 'RGB'
            img = np.asarray(Image.open(path).convert(mode))
            results = {'img': img[:, :, None] if img.ndim == 2 else img}
    else:
        img = np.asarray(image)
        if img.ndim == 2:
            img = img[:, :, None]
        results = {'img': img.astype(np.uint8)}
        if loads:
            pipeline = pipeline[1:]
    packed = Compose(pipeline)(results)
    batch = {'inputs': packed['inputs'][None]}
    with minicls.no_grad():
        data = model.data_preprocessor(batch, training=False)
        outputs = model(data['inputs'], mode='predict')
    scores = minicls.backend.to_numpy(outputs['pred_score'].data)[0]
    label = int(np.argmax(scores))
    result = {'pred_scores': scores, 'pred_label': label, 'pred_score': float(scores[label])}
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    if classes:
        result['pred_class'] = classes[label]
    return result
