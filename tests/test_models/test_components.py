"""BaseModule init types, GAP neck, heads, data preprocessor and batch augments, and the
ImageClassifier modes."""
import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.models import BaseModule
from minicls.models.heads import ClsHead, LinearClsHead, VisionTransformerClsHead
from minicls.models.necks import GlobalAveragePooling
from minicls.models.utils import ClsDataPreprocessor, CutMix, Mixup, RandomBatchAugment
from minicls.registry import MODELS


class Net(BaseModule):
    def __init__(self, init_cfg=None, child_cfg=None):
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.child = Child(child_cfg)


class Child(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.fc = nn.Linear(2, 2)


def test_init_types_match_layers_and_base_classes():
    minicls.manual_seed(0)
    net = Net(init_cfg=[dict(type='Constant', layer='Conv2d', val=2, bias=3),
                        dict(type='Constant', layer='_BatchNorm', val=5),
                        dict(type='Normal', layer='Linear', std=0.5, bias=1)],
              child_cfg=dict(type='Constant', layer='Linear', val=7))
    net.init_weights()
    assert np.all(net.conv.weight.numpy() == 2) and np.all(net.conv.bias.numpy() == 3)
    assert np.all(net.bn.weight.numpy() == 5) and np.all(net.bn.bias.numpy() == 0)
    assert np.all(net.fc.bias.numpy() == 1) and net.fc.weight.numpy().std() > 0
    assert np.all(net.child.fc.weight.numpy() == 7)   # the child's own init_cfg wins
    for cfg in (dict(type='Xavier', layer='Linear', gain=2.0, distribution='uniform'),
                dict(type='Kaiming', layer='Conv2d', mode='fan_in'),
                dict(type='TruncNormal', layer='Linear', std=0.02, a=-0.03, b=0.03),
                dict(type='Uniform', layer='Linear', a=-0.1, b=0.1)):
        Net(init_cfg=cfg).init_weights()
    net = Net(init_cfg=dict(type='TruncNormal', layer='Linear', std=1.0, a=-0.5, b=0.5))
    net.init_weights()
    assert np.abs(net.fc.weight.numpy()).max() <= 0.5
    net = Net(init_cfg=dict(type='Constant', layer='Conv2d', val=1,
                            override=dict(name='fc', type='Constant', val=4)))
    net.init_weights()
    assert np.all(net.fc.weight.numpy() == 4) and np.all(net.conv.weight.numpy() == 1)
    with pytest.raises(KeyError, match='Unknown init type'):
        Net(init_cfg=dict(type='Magic', layer='Linear')).init_weights()


def test_pretrained_init_prefix_and_mismatch(tmp_path):
    from minicls.engine.checkpoint import save_checkpoint
    src = Net()
    with minicls.no_grad():
        src.fc.weight.fill_(9.0)
    ckpt = tmp_path / 'net.ckpt'
    save_checkpoint({'state_dict': {'model.' + k: v for k, v in src.state_dict().items()}},
                    str(ckpt))
    net = Net(init_cfg=[dict(type='Constant', layer='Linear', val=0),
                        dict(type='Pretrained', checkpoint=str(ckpt), prefix='model')])
    net.init_weights()                        # Pretrained runs last, over the Constant init
    assert np.all(net.fc.weight.numpy() == 9)
    with pytest.raises(AssertionError, match='is not in the pretrained model'):
        Net(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='other')
            ).init_weights()
    # a head with another number of classes: skipped (size mismatch), the rest loaded
    other = Net()
    other.fc = nn.Linear(4, 3)
    other.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt), prefix='model.')
    other.init_weights()
    assert other.fc.weight.shape == (3, 4)
    np.testing.assert_array_equal(other.conv.weight.numpy(), src.conv.weight.numpy())


def test_gap_neck():
    gap = GlobalAveragePooling()
    x = minicls.randn(1, 8, 3, 3)
    out = gap((x, x))
    assert isinstance(out, tuple) and out[0].shape == (1, 8)      # batch of 1 kept
    np.testing.assert_allclose(gap(x).numpy(), x.numpy().mean((2, 3)), rtol=1e-5, atol=1e-7)
    assert GlobalAveragePooling(dim=1)(minicls.randn(2, 4, 5)).shape == (2, 4)
    volume = minicls.randn(1, 3, 2, 4, 5)
    np.testing.assert_allclose(GlobalAveragePooling(dim=3)(volume).numpy(),
                               volume.numpy().mean((2, 3, 4)), rtol=1e-5, atol=1e-7)
    with pytest.raises(AssertionError, match=r'only support \(1, 2, 3\), get 4'):
        GlobalAveragePooling(dim=4)
    with pytest.raises(TypeError, match='neck inputs should be tuple'):
        gap([x])
    assert GlobalAveragePooling().state_dict() == {}


def test_heads():
    feats = (minicls.randn(4, 6), minicls.randn(4, 8))
    head = LinearClsHead(num_classes=3, in_channels=8, cal_acc=True, topk=(1, 2))
    assert list(head.state_dict()) == ['fc.weight', 'fc.bias']
    losses = head.loss(feats, minicls.tensor([0, 1, 2, 0]))
    assert set(losses) == {'loss', 'accuracy_top-1', 'accuracy_top-2'}
    pred = head.predict(feats)
    np.testing.assert_allclose(pred['pred_score'].numpy().sum(1), 1, rtol=1e-6)
    assert pred['pred_label'].dtype == np.int64 and pred['pred_label'].shape == (4,)
    with pytest.raises(ValueError, match='num_classes=0 must be a positive integer'):
        LinearClsHead(0, 8)
    assert ClsHead().pre_logits(feats) is feats[1]
    assert type(ClsHead(loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
                .loss_module).__name__ == 'LabelSmoothLoss'
    vit = VisionTransformerClsHead(num_classes=3, in_channels=8, hidden_dim=16)
    assert list(vit.state_dict()) == ['layers.pre_logits.weight', 'layers.pre_logits.bias',
                                      'layers.head.weight', 'layers.head.bias']
    assert type(vit.layers.act).__name__ == 'Tanh'
    minicls.manual_seed(0)
    vit.init_weights()
    assert np.all(vit.layers.head.weight.numpy() == 0)
    w = vit.layers.pre_logits.weight.numpy()
    assert w.std() == pytest.approx(np.sqrt(1 / 8), rel=0.2) and np.abs(w).max() <= 2
    assert vit(feats).shape == (4, 3)
    assert vit.pre_logits(([minicls.randn(4, 5, 8), feats[1]],)).shape == (4, 16)
    plain = VisionTransformerClsHead(num_classes=3, in_channels=8)
    assert list(plain.state_dict()) == ['layers.head.weight', 'layers.head.bias']


def test_data_preprocessor():
    pre = ClsDataPreprocessor(mean=[10., 20., 30.], std=[2., 4., 5.], to_rgb=True,
                              pad_size_divisor=4)
    assert pre.state_dict() == {}                     # mean/std are not persistent
    imgs = np.random.default_rng(0).integers(0, 255, (2, 3, 5, 6), dtype=np.uint8)
    out = pre({'inputs': imgs, 'gt_label': np.array([1, 2])})
    x = out['inputs'].numpy()
    assert out['inputs'].dtype == np.float32 and x.shape == (2, 3, 8, 8)
    expected = (imgs[:, ::-1].astype(np.float32) - np.array([10, 20, 30]).reshape(3, 1, 1)) \
        / np.array([2, 4, 5]).reshape(3, 1, 1)
    np.testing.assert_allclose(x[:, :, :5, :6], expected, rtol=1e-6)
    assert np.all(x[:, :, 5:] == 0)
    assert out['targets'].dtype == np.int64 and out['targets'].tolist() == [1, 2]
    onehot = ClsDataPreprocessor(to_onehot=True, num_classes=4)(
        {'inputs': imgs, 'gt_label': np.array([1, 3])})['targets']
    np.testing.assert_array_equal(onehot.numpy(), np.eye(4)[[1, 3]])
    with pytest.raises(AssertionError, match='specify both `mean` and `std`'):
        ClsDataPreprocessor(mean=[1, 2, 3])


def test_mixup_cutmix_and_random_batch_augment():
    minicls.manual_seed(0)
    x = minicls.tensor(np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1) *
                       np.ones((4, 1, 8, 8), np.float32))
    y = minicls.tensor(np.eye(4, dtype=np.float32))
    mx, my = Mixup(alpha=1.0)(x, y)
    np.testing.assert_allclose(my.numpy().sum(1), 1, rtol=1e-6)
    # each mixed image is lam*a + (1-lam)*b with the same lam as its scores
    lam = my.numpy().max(1)
    assert np.all((lam >= 0.5 - 1e-6) & (lam <= 1 + 1e-6))
    np.testing.assert_allclose(mx.numpy()[:, 0, 0, 0], my.numpy() @ np.arange(4), rtol=1e-5)
    cx, cy = CutMix(alpha=1.0)(x, y)
    for i in range(4):   # the share of each source image's pixels equals its score
        values, counts = np.unique(cx.numpy()[i], return_counts=True)
        share = dict(zip(values.astype(int), counts / 64))
        for j, s in share.items():
            assert cy.numpy()[i, j] == pytest.approx(s, abs=1e-6)
    with pytest.raises(AssertionError, match='float > 0'):
        Mixup(alpha=1)
    aug = RandomBatchAugment([dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)],
                             probs=[0.0, 0.0])
    out_x, out_y = aug(x, y)                          # only "no augment" can be drawn
    assert out_x is x and np.array_equal(out_y.numpy(), y.numpy())
    pre = ClsDataPreprocessor(num_classes=4, batch_augments=dict(
        augments=dict(type='Mixup', alpha=1.0)))
    assert pre.to_onehot
    imgs = np.zeros((4, 1, 2, 2), np.uint8)
    assert pre({'inputs': imgs, 'gt_label': np.arange(4)}, training=True)['targets'].shape \
        == (4, 4)


def test_image_classifier_modes():
    minicls.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, ), base_channels=8, stem_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=16,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)),
        data_preprocessor=dict(mean=[0.] * 3, std=[255.] * 3, num_classes=3),
        train_cfg=dict(augments=dict(type='Mixup', alpha=1.0))))
    batch = {'inputs': np.random.default_rng(0).integers(0, 255, (2, 3, 8, 8), np.uint8),
             'gt_label': np.array([0, 2])}
    data = model.data_preprocessor(batch, training=True)
    assert data['targets'].shape == (2, 3)            # mixup forces one-hot scores
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss'} and losses['loss'].ndim == 0
    data = model.data_preprocessor(batch)
    logits = model(data['inputs'])
    assert logits.shape == (2, 3)
    pred = model(data['inputs'], mode='predict')
    np.testing.assert_allclose(pred['pred_score'].numpy(),
                               np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1,
                                                                                  keepdims=True),
                               rtol=1e-5)
    assert model.extract_feat(data['inputs'], stage='backbone')[0].shape == (2, 16, 4, 4)
    assert model.extract_feat(data['inputs'], stage='pre_logits').shape == (2, 16)
    with pytest.raises(RuntimeError, match='Invalid mode "train"'):
        model(data['inputs'], mode='train')
    with pytest.raises(AssertionError, match='Invalid output stage'):
        model.extract_feat(data['inputs'], stage='head')
    flipped = data['inputs'].flip(3)
    feats = model.extract_feats([data['inputs'], flipped], stage='pre_logits')   # TTA's use
    assert isinstance(feats, list) and len(feats) == 2
    np.testing.assert_allclose(feats[1].numpy(),
                               model.extract_feat(flipped, stage='pre_logits').numpy())
    with pytest.raises(AssertionError, match='use `extract_feat`'):
        model.extract_feats(data['inputs'])
    total, log_vars = model.parse_losses({'loss': minicls.tensor(1.0),
                                          'aux_loss': minicls.tensor([1.0, 3.0])})
    assert total.item() == 3.0 and list(log_vars) == ['loss', 'aux_loss']
    with pytest.raises(TypeError, match='data_preprocessor should be'):
        MODELS.build(dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
                          data_preprocessor=3))


def test_classifier_on_device_via_cupy_stand_in(cuda):
    """model.to('cuda'): the preprocessor moves uint8 host batches there, and loss, backward,
    predict, batch augments and drop_path run without touching NumPy (stand-in if no GPU)."""
    minicls.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, ), base_channels=4,
                      stem_channels=4, drop_path_rate=0.5),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=8,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1)),
        data_preprocessor=dict(mean=[1.] * 3, std=[2.] * 3, num_classes=3),
        train_cfg=dict(augments=[dict(type='Mixup', alpha=1.0),
                                 dict(type='CutMix', alpha=1.0)])))
    model.init_weights()
    model.to('cuda')
    batch = {'inputs': np.zeros((2, 3, 8, 8), np.uint8), 'gt_label': np.array([0, 2])}
    for _ in range(2):
        data = model.data_preprocessor(batch, training=True)
        assert data['inputs'].device.startswith('cuda')
        loss = model(**data, mode='loss')['loss']
        loss.backward()
    assert model.head.fc.weight.grad.device.startswith('cuda')
    model.eval()
    pred = model(**model.data_preprocessor(batch), mode='predict')
    assert pred['pred_label'].device.startswith('cuda')
    from minicls.evaluation import Accuracy
    metric = Accuracy()
    metric.process(batch, pred)
    assert 'accuracy/top1' in metric.evaluate()
