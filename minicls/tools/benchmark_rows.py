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
    rows.update(resnet_minicls(n, dev, rng))
    return rows


def resnet_minicls(n, dev, rng, lr=0.01):
    """{'ResNet_CIFAR-18 inference': callable, '... train step': callable}, each running the
    model once (forward, cross-entropy, backward, SGD update for the step)."""
    from minicls.models import build_classifier
    from minicls.models.losses import parse_losses
    model = build_classifier(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
                  loss=dict(type='CrossEntropyLoss'))))
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
    return {'ResNet_CIFAR-18 inference': inference, 'ResNet_CIFAR-18 train step': step}


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

    return {'conv3x3 64->64 forward': conv_forward,
            'conv3x3 64->64 fwd+bwd': conv_forward_backward,
            **mobile_and_attention_rows(tf, randn, n),
            'BatchNorm2d+ReLU fwd+bwd': bn_relu, **resnet_torch(torch, n, device, g)}


def resnet_torch(torch, n, device, g, lr=0.01):
    """The ResNet_CIFAR-18 rows of ``resnet_minicls`` in PyTorch."""
    model = torch_resnet_cifar18(torch).to(device)
    inputs = torch.randn(n, 3, 32, 32, generator=g).to(device)
    targets = torch.randint(0, 10, (n,), generator=g).to(device)

    def step():
        for p in model.parameters():
            p.grad = None
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)

    def inference():
        model.eval()
        with torch.no_grad():
            model(inputs)
        model.train()
    return {'ResNet_CIFAR-18 inference': inference, 'ResNet_CIFAR-18 train step': step}


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
