"""PyTorch parity of whole classifiers: ResNet_CIFAR-18 and ResNet-50 (+ GAP + linear head).

The torch reference is written below with the same module names (torchvision is not needed),
so the minicls state_dict loads into it key for key. We compare, in float32: the training-mode
logits and loss, the gradient of every parameter, the BN running statistics after the step,
and the eval-mode logits after one SGD update. Errors are relative to the largest reference
value of each tensor: ``max|ours - torch| / max|torch| < 1e-3``.
"""
import numpy as np
import pytest

import minicls
from minicls.registry import MODELS

torch = pytest.importorskip('torch')
tnn = torch.nn


# -- a compact torch ResNet with mmpretrain's names ----------------------------------------------
class TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inp, out, stride, downsample):
        super().__init__()
        self.conv1 = tnn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(out)
        self.conv2 = tnn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(out)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inp, out, stride, downsample):
        super().__init__()
        mid = out // 4
        self.conv1 = tnn.Conv2d(inp, mid, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(mid)
        self.conv2 = tnn.Conv2d(mid, mid, 3, stride, 1, bias=False)   # 'pytorch' style
        self.bn2 = tnn.BatchNorm2d(mid)
        self.conv3 = tnn.Conv2d(mid, out, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(out)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TBackbone(tnn.Module):
    def __init__(self, block, stage_blocks, cifar):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 64, 3, 1, 1, bias=False) if cifar else \
            tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU()
        self.maxpool = tnn.Identity() if cifar else tnn.MaxPool2d(3, 2, 1)
        inp, out = 64, 64 * block.expansion
        for i, n in enumerate(stage_blocks):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inp != out:
                down = tnn.Sequential(tnn.Conv2d(inp, out, 1, stride, bias=False),
                                      tnn.BatchNorm2d(out))
            blocks = [block(inp, out, stride, down)] + [block(out, out, 1, None)
                                                        for _ in range(n - 1)]
            self.add_module(f'layer{i + 1}', tnn.Sequential(*blocks))
            inp, out = out, out * 2

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
        return x


class TClassifier(tnn.Module):
    def __init__(self, block, stage_blocks, cifar, num_classes):
        super().__init__()
        self.backbone = TBackbone(block, stage_blocks, cifar)
        self.head = tnn.Module()
        self.head.fc = tnn.Linear(512 * block.expansion, num_classes)

    def forward(self, x):
        return self.head.fc(self.backbone(x).mean((2, 3)))


# -- helpers ------------------------------------------------------------------------------------
def rel_err(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    return np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12)


def build_pair(backbone, block, stage_blocks, cifar, num_classes, loss):
    minicls.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=512 * block.expansion, loss=loss)))
    model.init_weights()
    # zero_init_residual zeroes the last BN of each block, which would zero most gradients:
    # give every BN non-trivial affine parameters so that every gradient is compared.
    rng = np.random.default_rng(1)
    with minicls.no_grad():
        for name, p in model.named_parameters():
            if '.bn' in name or 'downsample.1' in name:
                p.data[...] = (rng.uniform(0.5, 1.5, p.shape) if name.endswith('weight')
                               else rng.normal(0, 0.1, p.shape)).astype(np.float32)
    ref = TClassifier(block, stage_blocks, cifar, num_classes)
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                         model.state_dict().items()})
    return model, ref


def check_parity(model, ref, x, labels, torch_loss, tol=1e-3, ref64=None, lr=0.1):
    """Train-mode logits and loss, every gradient, running stats, then eval logits after one
    SGD step. With ``ref64`` (a float64 copy of ``ref``), a gradient may also differ from
    torch's float32 one by up to 3x torch's own float32 error (against float64): deep nets
    with batch statistics over few values have gradients that float32 cannot pin down."""
    errors = {}
    model.train()
    ref.train()
    xt = torch.from_numpy(x)
    logits = model(minicls.tensor(x))
    logits_ref = ref(xt)
    errors['logits'] = rel_err(logits.numpy(), logits_ref.detach().numpy())
    loss = model(minicls.tensor(x), minicls.tensor(labels), mode='loss')['loss']
    loss_ref = torch_loss(ref(xt), torch.from_numpy(labels))
    errors['loss'] = rel_err(loss.item(), loss_ref.item())
    loss.backward()
    loss_ref.backward()
    ref_params = dict(ref.named_parameters())
    names = [n for n, _ in model.named_parameters()]
    assert names == list(ref_params)
    allowed = dict.fromkeys(names, tol)
    if ref64 is not None:
        ref64.train()
        x64 = xt.double()
        ref64(x64)  # two training forwards, as the others
        torch_loss(ref64(x64), torch.from_numpy(labels)).backward()
        for n, p in ref64.named_parameters():
            own = rel_err(ref_params[n].grad.numpy(), p.grad.numpy())
            allowed[n] = max(tol, 3 * own)
    grad_errors = {n: rel_err(p.grad.numpy(), ref_params[n].grad.numpy()) / allowed[n] * tol
                   for n, p in model.named_parameters()}
    errors['grad'] = max(grad_errors.values())
    raw = {n: rel_err(p.grad.numpy(), ref_params[n].grad.numpy())
           for n, p in model.named_parameters()}
    print(f'raw max grad error {max(raw.values()):.2e} ({max(raw, key=raw.get)}); '
          f'{sum(v >= tol for v in raw.values())}/{len(raw)} tensors above {tol}' +
          (f'; torch float32 vs float64: up to {max(allowed.values()) / 3:.2e}'
           if ref64 is not None else ''))
    # running statistics: both models ran two training forwards
    ours, theirs = model.state_dict(), ref.state_dict()
    stats = [k for k in ours if 'running' in k or 'num_batches' in k]
    assert stats and all(int(ours[k]) == 2 for k in stats if 'num_batches' in k)
    errors['running_stats'] = max(rel_err(ours[k], theirs[k].numpy()) for k in stats)
    # one SGD step on both (with torch's gradients, so that the step itself is the same),
    # then eval-mode logits
    with minicls.no_grad():
        for n, p in model.named_parameters():
            p.sub_(minicls.tensor(ref_params[n].grad.numpy(), dtype=p.dtype), alpha=lr)
    with torch.no_grad():
        for p in ref.parameters():
            p.sub_(p.grad, alpha=lr)
    model.eval()
    ref.eval()
    errors['eval_logits'] = rel_err(model(minicls.tensor(x)).numpy(),
                                    ref(xt).detach().numpy())
    print({k: f'{v:.2e}' for k, v in errors.items()})
    for key, value in errors.items():
        assert value < tol, (key, value, max(grad_errors, key=grad_errors.get))
    return errors


def test_resnet_cifar18_parity_with_torch():
    model, ref = build_pair(dict(type='ResNet_CIFAR', depth=18), TBasicBlock, (2, 2, 2, 2),
                            True, 10, dict(type='CrossEntropyLoss', loss_weight=1.0))
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32)
    labels = np.array([0, 3, 9, 3])
    check_parity(model, ref, x, labels, torch.nn.functional.cross_entropy)


def smooth_ce(logits, target):
    return torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)


R50 = (dict(type='ResNet', depth=50), TBottleneck, (3, 4, 6, 3), False, 10,
       dict(type='LabelSmoothLoss', label_smooth_val=0.1))


def test_resnet50_parity_with_torch_float32():
    """float32 on 2 images of 64x64 (2x2 maps in the last stage: BN over 8 values)."""
    import copy
    model, ref = build_pair(*R50)
    x = np.random.default_rng(3).normal(0, 1, (2, 3, 64, 64)).astype(np.float32)
    check_parity(model, ref, x, np.array([1, 7]), smooth_ce, ref64=copy.deepcopy(ref).double())
