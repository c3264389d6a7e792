"""Pretrained weights by URL: downloaded once into $MINICLS_HOME/checkpoints from a local HTTP
server, checked against the SHA-256 prefix in the file name, then read from the cache without
the network; torchvision:// and open-mmlab:// names map to their URLs; offline is one line."""
import hashlib

import numpy as np
import pytest

import pth_craft
from minicls.io import DownloadError, get_dir, load_weights, resolve_url
from minicls.registry import MODELS

WEIGHTS = {'fc.weight': np.arange(6, dtype=np.float32).reshape(2, 3),
           'fc.bias': np.array([0.5, -0.5], dtype=np.float32)}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('MINICLS_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home' / 'checkpoints'


def _publish(www, stem='head'):
    """Save WEIGHTS as a .pth named the torch hub way: <stem>-<sha256 prefix>.pth."""
    tmp = pth_craft.save(www / 'tmp.pth', WEIGHTS)
    name = f'{stem}-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth'
    tmp.rename(www / name)
    return name


def test_pretrained_url_downloads_once_then_loads_from_the_cache(server, home):
    www, url = server
    name = _publish(www)
    head = MODELS.build(dict(type='LinearClsHead', num_classes=2, in_channels=3,
                             init_cfg=dict(type='Pretrained', checkpoint=f'{url}/{name}')))
    head.init_weights()
    np.testing.assert_array_equal(head.fc.weight.numpy(), WEIGHTS['fc.weight'])
    assert get_dir() == str(home) and [p.name for p in home.iterdir()] == [name]
    (www / name).unlink()  # the server no longer has it: the cache answers
    state = load_weights(f'{url}/{name}', convert=False)
    np.testing.assert_array_equal(state['fc.bias'], WEIGHTS['fc.bias'])


def test_a_download_that_does_not_match_its_hash_prefix_is_refused(server, home):
    www, url = server
    (www / _publish(www)).rename(www / 'head-deadbeef.pth')
    with pytest.raises(DownloadError, match='SHA-256 mismatch .* starts with deadbeef'):
        load_weights(f'{url}/head-deadbeef.pth')
    assert list(home.iterdir()) == []


def test_offline_without_a_cache_says_where_to_put_the_file(server, home):
    _, url = server
    with pytest.raises(DownloadError) as err:
        load_weights(f'{url}/resnet18-f37072fd.pth')  # 404 here, as unreachable offline
    message = str(err.value)
    assert '\n' not in message
    assert message.endswith(f'put it at {home / "resnet18-f37072fd.pth"}')


def test_torchvision_and_openmmlab_names(home):
    tv = 'https://download.pytorch.org/models/'
    assert resolve_url('torchvision://resnet50') == tv + 'resnet50-0676ba61.pth'
    assert resolve_url('torchvision://ResNet50_Weights.IMAGENET1K_V2') == \
        tv + 'resnet50-11ad3fa6.pth'
    assert resolve_url('torchvision://resnet18.default') == tv + 'resnet18-f37072fd.pth'
    assert resolve_url('open-mmlab://resnet50_v1c') == \
        'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth'
    with pytest.raises(KeyError, match="unknown torchvision:// name 'vgg16'.*resnet50"):
        resolve_url('torchvision://vgg16')
    # a file placed in the cache by hand is used without the network; torchvision's names
    # go straight into a backbone, and become backbone.* when a whole classifier loads them
    home.mkdir(parents=True)
    pth_craft.save(home / 'resnet50-0676ba61.pth', WEIGHTS)
    assert sorted(load_weights('torchvision://resnet50')) == ['head.fc.bias', 'head.fc.weight']
    head = MODELS.build(dict(type='LinearClsHead', num_classes=2, in_channels=3, init_cfg=dict(
        type='Pretrained', checkpoint='torchvision://resnet50')))
    head.init_weights()
    np.testing.assert_array_equal(head.fc.bias.numpy(), WEIGHTS['fc.bias'])


def test_get_model_takes_a_checkpoint_url(server, home):
    from minicls.apis import get_model
    from minicls.engine.checkpoint import save_checkpoint
    www, url = server
    backbone = dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4,
                    num_stages=1, strides=(1, ), dilations=(1, ), out_indices=(0, ))
    cfg = dict(model=dict(type='ImageClassifier', backbone=backbone,
                          neck=dict(type='GlobalAveragePooling'),
                          head=dict(type='LinearClsHead', num_classes=2, in_channels=4)))
    weights = {k: np.asarray(v) + 1 for k, v in get_model(cfg).state_dict().items()}
    save_checkpoint({'state_dict': weights, 'meta': {'dataset_meta': {'classes': ['a', 'b']}}},
                    str(www / 'model.npz'))
    model = get_model(cfg, checkpoint=f'{url}/model.npz')
    assert model.dataset_meta == {'classes': ['a', 'b']}
    np.testing.assert_array_equal(np.asarray(model.state_dict()['head.fc.bias']),
                                  weights['head.fc.bias'])
    assert (home / 'model.npz').is_file()
