"""mmpretrain-format ``.pth`` weights of a ViT and a MobileNetV2 load through the torch-free
reader (``get_model(config, checkpoint)``, strict), and ``inference_model`` classifies with them."""
import numpy as np
import pytest

import pth_craft
from minicls.apis import get_model, inference_model

MODELS_CFG = {
    'vit': """dict(type='ImageClassifier',
        backbone=dict(type='VisionTransformer', img_size=16, patch_size=4,
                      arch=dict(embed_dims=12, num_layers=2, num_heads=3,
                                feedforward_channels=16)),
        head=dict(type='VisionTransformerClsHead', num_classes=3, in_channels=12,
                  hidden_dim=8))""",
    'mobilenet_v2': """dict(type='ImageClassifier',
        backbone=dict(type='MobileNetV2', widen_factor=0.25),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=1280))""",
}


def write_config(tmp_path, name):
    path = tmp_path / f'{name}.py'
    path.write_text(f"model = {MODELS_CFG[name]}\n"
                    "data_preprocessor = dict(num_classes=3, mean=[127.5] * 3, std=[64.] * 3)\n"
                    "test_pipeline = [dict(type='PackInputs')]\n"
                    "val_dataloader = dict(dataset=dict(type='CustomDataset', "
                    "metainfo=dict(classes=('cat', 'dog', 'bird')), pipeline=test_pipeline))\n")
    return path


@pytest.mark.parametrize('name', ['vit', 'mobilenet_v2'])
def test_pth_weights_load_and_predict(tmp_path, name):
    config = write_config(tmp_path, name)
    donor = get_model(str(config))  # random init, as a trained model would differ
    rng = np.random.default_rng(0)
    arrays = {k: (rng.standard_normal(v.shape) * 0.2).astype(v.dtype)
              if v.dtype.kind == 'f' else v for k, v in donor.state_dict().items()}
    arrays.update({k: abs(v) + 0.5 for k, v in arrays.items() if k.endswith('running_var')})
    checkpoint = pth_craft.save(tmp_path / 'weights.pth', arrays)
    model = get_model(str(config), checkpoint=str(checkpoint))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, arrays[key])
    size = 16 if name == 'vit' else 32
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    result = inference_model(model, image)
    assert result['pred_scores'].shape == (3, )
    assert result['pred_class'] in ('cat', 'dog', 'bird')
    np.testing.assert_allclose(result['pred_scores'].sum(), 1, rtol=1e-5)
