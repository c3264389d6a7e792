"""The rows ``python -m minicls.tools.benchmark`` times: the same work written once with
minicls and once with PyTorch, under the same names, so the two columns compare like for like.
"""
import numpy as np

import minicls
import minicls.nn.functional as F


# ---------------------------------------------------------------- minicls rows

def minicls_rows(args):
    """{row name: callable running it once} for minicls on ``args.device``."""
    rng = np.random.default_rng(0)
    dev = args.device

    def tensor(*shape, grad=False):
        t = minicls.tensor(rng.standard_normal(shape, dtype=np.float32)).to(dev)
        return t.requires_grad_(grad)

    n = args.batch
    x, w = tensor(n, 64, 32, 32, grad=True), tensor(64, 64, 3, 3, grad=True)
    gy = tensor(n, 64, 32, 32)
    rows = {}

    def conv_forward():
        F.conv2d(x, w, padding=1)

    def conv_forward_backward():
        x.grad = w.grad = None
        F.conv2d(x, w, padding=1).backward(gy)
    rows['conv3x3 64->64 forward'] = conv_forward
    rows['conv3x3 64->64 fwd+bwd'] = conv_forward_backward
    rows.update(mobile_and_attention_rows(F, tensor, n))

    gamma, beta = tensor(64, grad=True), tensor(64, grad=True)
    mean, var = minicls.zeros(64).to(dev), minicls.ones(64).to(dev)

    def bn_relu():
        x.grad = gamma.grad = beta.grad = None
        y = F.relu(F.batch_norm(x, mean, var, gamma, beta, training=True))
        y.backward(gy)
    rows['BatchNorm2d+ReLU fwd+bwd'] = bn_relu
    for name, build in (('ResNet_CIFAR-18', resnet_minicls),
                        ('FastCifarNet', fast_cifar_minicls)):
        if wanted(args, name):
            rows.update(build(n, dev, rng))
    return rows


def wanted(args, name):
    """Whether ``--rows`` selects any row of the model ``name`` (inference / train step):
    the same substring rule as the main loop, so unselected models are never built."""
    return any(args.rows in f'{name} {kind}' for kind in ('inference', 'train step'))


def resnet_minicls(n, dev, rng, lr=0.01):
    """{'ResNet_CIFAR-18 inference': callable, '... train step': callable}, each running the
    model once (forward, cross-entropy, backward, SGD update for the step)."""
    from minicls.models import build_classifier
    model = build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
                  loss=dict(type='CrossEntropyLoss'))))
    return classifier_rows('ResNet_CIFAR-18', model, n, dev, rng, lr)


def fast_cifar_minicls(n, dev, rng, lr=0.01):
    """The 'FastCifarNet inference' / '... train step' rows: the model of the shipped recipe
    (``fast_cifar/_base_/fast_cifar_net.py``: its loss is LabelSmoothLoss 0.2); the whitening
    weights stay random (the timing does not depend on them)."""
    return classifier_rows('FastCifarNet', fast_cifar_net_minicls(), n, dev, rng, lr)


def fast_cifar_net_minicls():
    """FastCifarNet as the shipped recipe's model config builds it."""
    import os.path as osp

    from minicls.config import Config
    from minicls.configs import CONFIG_ROOT
    from minicls.models import build_classifier
    path = osp.join(CONFIG_ROOT, 'fast_cifar', '_base_', 'fast_cifar_net.py')
    return build_classifier(Config.fromfile(path)['model'])


def classifier_rows(name, model, n, dev, rng, lr=0.01):
    """{f'{name} inference': callable, f'{name} train step': callable} for a minicls
    classifier on CIFAR-sized inputs (10 classes); the step zeroes the grads, runs
    ``mode='loss'``, backward and an SGD update of the parameters that need grads."""
    from minicls.models.losses import parse_losses
    model.to(dev).train()
    params = [p for p in model.parameters() if p.requires_grad]
    inputs = minicls.tensor(rng.standard_normal((n, 3, 32, 32), dtype=np.float32)).to(dev)
    targets = minicls.tensor(rng.integers(0, 10, n)).to(dev)

    def step():
        for p in params:
            p.grad = None
        parse_losses(model(inputs=inputs, targets=targets, mode='loss'))[0].backward()
        with minicls.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)

    def inference():
        model.eval()
        with minicls.no_grad():
            model(inputs=inputs, mode='tensor')
        model.train()
    step()  # fails here, not in the timing loop, if the model is broken
    return {f'{name} inference': inference, f'{name} train step': step}


# ---------------------------------------------------------------- PyTorch rows

def torch_rows(args, torch, device='cpu'):
    """The same rows in PyTorch, on ``device``."""
    g = torch.Generator().manual_seed(0)
    n = args.batch

    def randn(*shape, grad=False):
        return torch.randn(*shape, generator=g).to(device).requires_grad_(grad)
    x, w = randn(n, 64, 32, 32, grad=True), randn(64, 64, 3, 3, grad=True)
    gy = randn(n, 64, 32, 32)
    gamma, beta = randn(64, grad=True), randn(64, grad=True)
    mean, var = torch.zeros(64, device=device), torch.ones(64, device=device)
    tf = torch.nn.functional

    def conv_forward():
        tf.conv2d(x, w, padding=1)

    def conv_forward_backward():
        x.grad = w.grad = None
        tf.conv2d(x, w, padding=1).backward(gy)

    def bn_relu():
        x.grad = gamma.grad = beta.grad = None
        tf.relu(tf.batch_norm(x, mean, var, gamma, beta, training=True)).backward(gy)

    rows = {'conv3x3 64->64 forward': conv_forward,
            'conv3x3 64->64 fwd+bwd': conv_forward_backward,
            **mobile_and_attention_rows(tf, randn, n), 'BatchNorm2d+ReLU fwd+bwd': bn_relu}
    if wanted(args, 'ResNet_CIFAR-18'):
        rows.update(resnet_torch(torch, n, device, g))
    if wanted(args, 'FastCifarNet'):
        rows.update(torch_classifier_rows(torch, 'FastCifarNet', torch_fast_cifar_net(torch),
                                          n, device, g, label_smoothing=0.2))
    return rows


def resnet_torch(torch, n, device, g, lr=0.01):
    """The ResNet_CIFAR-18 rows of ``resnet_minicls`` in PyTorch."""
    return torch_classifier_rows(torch, 'ResNet_CIFAR-18', torch_resnet_cifar18(torch), n,
                                 device, g, lr=lr)


def torch_classifier_rows(torch, name, model, n, device, g, lr=0.01, label_smoothing=0.0):
    """``classifier_rows`` in PyTorch: cross-entropy (with ``label_smoothing``) and an SGD
    update of the parameters that need grads."""
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    inputs = torch.randn(n, 3, 32, 32, generator=g).to(device)
    targets = torch.randint(0, 10, (n,), generator=g).to(device)

    def step():
        for p in params:
            p.grad = None
        torch.nn.functional.cross_entropy(model(inputs), targets,
                                          label_smoothing=label_smoothing).backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)

    def inference():
        model.eval()
        with torch.no_grad():
            model(inputs)
        model.train()
    return {f'{name} inference': inference, f'{name} train step': step}


def mobile_and_attention_rows(functional, randn, n):
    """Rows written once for both libraries (same names): depthwise 3x3 convs as in a
    CIFAR MobileNetV2 (96 channels at 32x32, 144 at 16x16; padding 1) and attention as in a
    small CIFAR ViT (4 heads of 48 features over 65 tokens: 64 patches + the cls token),
    forward + backward. ``randn(*shape, grad=False)`` makes the library's tensors."""
    rows = {}
    for c, size in ((96, 32), (144, 16)):
        x, w, gy = randn(n, c, size, size, grad=True), randn(c, 1, 3, 3, grad=True), \
            randn(n, c, size, size)

        def depthwise(x=x, w=w, gy=gy, c=c):
            x.grad = w.grad = None
            functional.conv2d(x, w, padding=1, groups=c).backward(gy)
        rows[f'dwconv3x3 {c}ch {size}x{size} fwd+bwd'] = depthwise
    q, k, v = (randn(n, 4, 65, 48, grad=True) for _ in range(3))
    gy = randn(n, 4, 65, 48)

    def attention():
        q.grad = k.grad = v.grad = None
        functional.scaled_dot_product_attention(q, k, v).backward(gy)
    rows['attention 4x65x48 fwd+bwd'] = attention
    return rows


def torch_resnet_cifar18(torch):
    """mmpretrain's ResNet_CIFAR-18 (3x3 stem, no max pool) + global pool + linear, in torch."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.down is None else self.down(x)))

    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]
    return nn.Sequential(*layers).train()


def torch_fast_cifar_net(torch):
    """minicls's FastCifarNet (``fast_cifar/_base_/fast_cifar_net.py``) in torch: a frozen
    2x2 whitening conv 3 -> 24 (bias trained) + GELU, 3 groups of widths 64/256/256 (conv 3x3
    -> max-pool 2 -> BN -> GELU -> conv 3x3 -> BN -> GELU; BN eps 1e-12, momentum 0.4, scale
    frozen at 1), global max, times 1/9, linear 256 -> 10."""
    nn = torch.nn

    def frozen(module):
        module.weight.requires_grad = False
        return module

    class GlobalMax(nn.Module):
        def forward(self, x):
            return x.amax(dim=(2, 3)) * (1 / 9)

    layers, cin = [frozen(nn.Conv2d(3, 24, 2, bias=True)), nn.GELU()], 24
    for width in (64, 256, 256):
        layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.MaxPool2d(2),
                   frozen(nn.BatchNorm2d(width, eps=1e-12, momentum=0.4)), nn.GELU(),
                   nn.Conv2d(width, width, 3, padding=1, bias=False),
                   frozen(nn.BatchNorm2d(width, eps=1e-12, momentum=0.4)), nn.GELU()]
        cin = width
    layers += [GlobalMax(), nn.Linear(256, 10)]
    return nn.Sequential(*layers).train()
