"""PyTorch parity of whole classifiers: ResNet_CIFAR-18 and ResNet-50 (+ GAP + linear head).

The torch reference is written below with the same module names (torchvision is not needed),
so the minicls state_dict loads into it key for key. We compare, in float32: the training-mode
logits and loss, the gradient of every parameter, the BN running statistics after the step,
and the eval-mode logits after one SGD update. Errors are relative to the largest reference
value of each tensor: ``max|ours - torch| / max|torch| < 1e-3``. For the ResNet-50, torch's
ReLUs follow minicls's on/off pattern so that float32 rounding at the ReLU kink cannot send the
two nets down different branches (the conditioning argument is in that test's docstring).
"""
import collections

import numpy as np
import pytest

import minicls
from minicls.backend import to_numpy
from minicls.registry import MODELS

torch = pytest.importorskip('torch')
tnn = torch.nn


@pytest.fixture(autouse=True, scope='module')
def torch_one_thread():
    """The reference is small work for torch; its thread pool spin-waits badly on a busy
    2-core machine (8 s instead of 0.1 s for a ResNet-50 step), so run it on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
    def __init__(self, block, stage_blocks, cifar, stem_channels=64, base_channels=64):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, stem_channels, 3, 1, 1, bias=False) if cifar else \
            tnn.Conv2d(3, stem_channels, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(stem_channels)
        self.relu = tnn.ReLU()
        self.maxpool = tnn.Identity() if cifar else tnn.MaxPool2d(3, 2, 1)
        inp, out = stem_channels, base_channels * block.expansion
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
    def __init__(self, block, stage_blocks, cifar, num_classes, stem_channels=64,
                 base_channels=64):
        super().__init__()
        self.backbone = TBackbone(block, stage_blocks, cifar, stem_channels, base_channels)
        self.head = tnn.Module()
        self.head.fc = tnn.Linear(base_channels * 8 * block.expansion, num_classes)

    def forward(self, x):
        return self.head.fc(self.backbone(x).mean((2, 3)))


# -- helpers ------------------------------------------------------------------------------------
def rel_err(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    return np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12)


def build_pair(backbone, block, stage_blocks, cifar, num_classes, loss, share_kinks=False):
    minicls.manual_seed(0)
    stem, base = backbone.get('stem_channels', 64), backbone.get('base_channels', 64)
    model = MODELS.build(dict(
        type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=base * 8 * block.expansion, loss=loss)))
    model.init_weights()
    # zero_init_residual zeroes the last BN of each block, which would zero most gradients:
    # give every BN non-trivial affine parameters so that every gradient is compared.
    rng = np.random.default_rng(1)
    with minicls.no_grad():
        for name, p in model.named_parameters():
            if '.bn' in name or 'downsample.1' in name:
                p.data[...] = (rng.uniform(0.5, 1.5, p.shape) if name.endswith('weight')
                               else rng.normal(0, 0.1, p.shape)).astype(np.float32)
    ref = TClassifier(block, stage_blocks, cifar, num_classes, stem, base)
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                         model.state_dict().items()})
    if share_kinks:
        share_relu_kinks(model, ref)
    return model, ref


class KinkReLU(tnn.Module):
    """ReLU that takes its on/off pattern from minicls's matching ReLU call: ``x * mask``."""

    def __init__(self, kinks):
        super().__init__()
        self.kinks = kinks

    def forward(self, x):
        assert self.kinks, 'torch ran more ReLUs than minicls: the forwards are out of step'
        mask = self.kinks.popleft()
        assert mask.shape == tuple(x.shape), (mask.shape, x.shape)
        return x * torch.from_numpy(mask).to(x.dtype)


def share_relu_kinks(model, ref):
    """Make ``ref`` follow minicls's ReLU branch decisions (see the ResNet-50 test).

    Every minicls ReLU call records ``output > 0``; each ReLU of ``ref`` (called in the same
    order) consumes one pattern. ``ref.kinks`` is the queue: empty after every torch forward."""
    ref.kinks = collections.deque()
    for module in model.modules():
        if isinstance(module, minicls.nn.ReLU):
            module.register_forward_hook(
                lambda m, args, out: ref.kinks.append(to_numpy(out.data) > 0))
    for name, module in list(ref.named_modules()):
        if isinstance(module, tnn.ReLU):
            parent = ref.get_submodule(name.rpartition('.')[0])
            setattr(parent, name.rpartition('.')[2], KinkReLU(ref.kinks))


def run_ref(ref, x):
    """``ref(x)``; with shared ReLU kinks, also check that every recorded pattern was used."""
    out = ref(x)
    assert not getattr(ref, 'kinks', None), 'minicls ran more ReLUs than torch'
    return out


def check_parity(model, ref, x, labels, torch_loss, tol=1e-3, lr=0.1):
    """Train-mode logits and loss, every gradient, running stats, then eval logits after one
    SGD step. Each error is ``max|ours - torch| / max|torch|`` over one tensor, below ``tol``."""
    errors = {}
    model.train()
    ref.train()
    xt = torch.from_numpy(x)
    logits = model(minicls.tensor(x))
    logits_ref = run_ref(ref, xt)
    errors['logits'] = rel_err(logits.numpy(), logits_ref.detach().numpy())
    loss = model(minicls.tensor(x), minicls.tensor(labels), mode='loss')['loss']
    loss_ref = torch_loss(run_ref(ref, xt), torch.from_numpy(labels))
    errors['loss'] = rel_err(loss.item(), loss_ref.item())
    loss.backward()
    loss_ref.backward()
    ref_params = dict(ref.named_parameters())
    names = [n for n, _ in model.named_parameters()]
    assert names == list(ref_params)
    grad_errors = {n: rel_err(p.grad.numpy(), ref_params[n].grad.numpy())
                   for n, p in model.named_parameters()}
    worst = max(grad_errors, key=grad_errors.get)
    errors['grad'] = grad_errors[worst]
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
                                    run_ref(ref, xt).detach().numpy())
    print({k: f'{v:.2e}' for k, v in errors.items()}, f'worst gradient: {worst}')
    for key, value in errors.items():
        assert value < tol, (key, value, worst)
    return errors


def test_resnet_cifar18_parity_with_torch():
    """torch's ReLUs take minicls's on/off pattern, as in the ResNet-50 test below: the
    default conv algorithm on the CPU is Winograd F(4x4, 3x3) for most layers, whose float32
    error (~1e-6 of sum |x||w|) is ten times the direct conv's, enough to put a pre-activation
    near 0 on the other side of a ReLU's kink and move a weight gradient by 2e-2."""
    model, ref = build_pair(dict(type='ResNet_CIFAR', depth=18), TBasicBlock, (2, 2, 2, 2),
                            True, 10, dict(type='CrossEntropyLoss', loss_weight=1.0),
                            share_kinks=True)
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32)
    labels = np.array([0, 3, 9, 3])
    check_parity(model, ref, x, labels, torch.nn.functional.cross_entropy)


def smooth_ce(logits, target):
    return torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)


def test_resnet50_parity_with_torch_float32():
    """A ResNet-50 (Bottleneck blocks, (3, 4, 6, 3), all four stages, mmpretrain's names) at
    a quarter of the width (stem and base 16 channels: 512 features instead of 2048), so that
    8 images of 128x128 run in seconds; the last stage sees 4x4 maps (BN over 128 values).

    Conditioning. ReLU is not differentiable at 0: a pre-activation within float32 rounding
    (here ~1e-5 relative after 50 layers) of zero can land on opposite sides in two correct
    float32 implementations. The two nets then differentiate different linear pieces, and that
    single element moves a weight gradient by ~1/sqrt(number of values summed) of its size:
    measured on torch alone (float32 vs float64, this net), 21 of its 6.3M ReLU inputs flip
    sign and gradients differ by up to 7e-2; with 2 images of 64x64 at full width, up to 3e-1.
    More images or pixels do not help (more elements, more flips) - it is the kink, not the
    BN batch size. So torch's ReLUs here take minicls's on/off pattern (``share_relu_kinks``):
    both sides then compute the same piecewise-linear branch, which is smooth and well
    conditioned (with softplus instead of ReLU, torch's own float32 gradients match float64 to
    2e-4 even in the old 2x64x64 setting). This still tests minicls's ReLU: its forward values
    feed the logits, its backward mask the gradients, both compared with torch's."""
    model, ref = build_pair(dict(type='ResNet', depth=50, stem_channels=16, base_channels=16),
                            TBottleneck, (3, 4, 6, 3), False, 10,
                            dict(type='LabelSmoothLoss', label_smooth_val=0.1), share_kinks=True)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (8, 3, 128, 128)).astype(np.float32)
    labels = rng.integers(0, 10, 8)
    check_parity(model, ref, x, labels, smooth_ce)
