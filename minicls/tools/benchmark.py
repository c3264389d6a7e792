"""How fast are minicls's layers? Times them against PyTorch at the same thread count
(on the GPU with ``--device cuda``: minicls on CuPy, PyTorch on CUDA when it has it).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m minicls.tools.benchmark

Rows: a 3x3 conv (batch 64, 64 -> 64 channels, 32x32, padding 1) forward and forward +
backward, BatchNorm2d + ReLU forward + backward, and ResNet_CIFAR-18's inference forward and
training step (forward, cross-entropy, backward, SGD update) when ``minicls.models`` provides
it. The two columns are timed interleaved (minicls, PyTorch, minicls, ...) after one warm-up
run each, and each is the fastest of ``--repeat`` runs: on a busy machine the minimum is the
run least disturbed by other processes. GFLOP/s counts the direct convolution's arithmetic
(2 * multiply-adds; backward = 2x forward) whatever algorithm ran, beside one large GEMM's
rate on this machine: "how close to the limit". The header names the CPU, its vector
extensions, the threads and the load average; ``--memory`` adds each framework's growth of
peak RSS over building the model and three training steps, each in a fresh process.
``--conv-algorithm`` sets ``minicls.backends.conv_algorithm`` (compare im2col and Winograd).
NumPy's BLAS reads its thread count when it loads, so ``--threads`` re-runs this command with
``OPENBLAS_NUM_THREADS`` (and ``OMP_NUM_THREADS``) set; minicls's own pool gets
``minicls.set_num_threads`` and PyTorch ``torch.set_num_threads``. Other processes on the
machine make the figures noisy: compare the two columns of one run, not runs of different days.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

import minicls
import minicls.nn.functional as F
from minicls import backend, backends
from minicls.cli import command_line

THREAD_VARS = ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')


def timeit(fn, sync=lambda: None):
    """Seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def time_interleaved(ours, theirs, repeat, sync, torch_sync):
    """Fastest of ``repeat`` runs of each callable (either may be None), run alternately after
    one warm-up run each, so that both see the same load."""
    pairs = [(fn, sy) for fn, sy in ((ours, sync), (theirs, torch_sync)) if fn]
    for fn, sy in pairs:
        timeit(fn, sy)
    best = [float('inf')] * len(pairs)
    for _ in range(repeat):
        for i, (fn, sy) in enumerate(pairs):
            best[i] = min(best[i], timeit(fn, sy))
    best = iter(best)
    return (next(best) if ours else None), (next(best) if theirs else None)


def conv_flop(n, cin, cout, kernel, out_size):
    """2 * multiply-adds of a direct convolution's forward."""
    return 2 * n * cout * cin * kernel * kernel * out_size * out_size


def resnet_cifar18_flop(n):
    """Forward FLOP of ResNet_CIFAR-18 (convs and the linear head; 1.11 GFLOP per image)."""
    flop, cin, size = conv_flop(n, 3, 64, 3, 32), 64, 32
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        size //= stride
        flop += conv_flop(n, cin, cout, 3, size) + 3 * conv_flop(n, cout, cout, 3, size)
        if cin != cout:
            flop += conv_flop(n, cin, cout, 1, size)   # the 1x1 downsample
        cin = cout
    return flop + 2 * n * 512 * 10


def row_flop(n):
    """{row name: FLOP of one run}; rows without one (batch norm) are left out."""
    conv = conv_flop(n, 64, 64, 3, 32)
    return {'conv3x3 64->64 forward': conv, 'conv3x3 64->64 fwd+bwd': 3 * conv,
            'ResNet_CIFAR-18 inference': resnet_cifar18_flop(n),
            'ResNet_CIFAR-18 train step': 3 * resnet_cifar18_flop(n)}


def gemm_gflops(size=2048, repeat=3):
    """GFLOP/s of NumPy's float32 GEMM (size x size) on BLAS's threads, best of ``repeat``."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    np.matmul(a, a)
    best = min(timeit(lambda: np.matmul(a, a)) for _ in range(repeat))
    return 2 * size ** 3 / best / 1e9


def cpu_description(threads):
    """'<model>, AVX-512|AVX2|no AVX2, <threads> threads of <cores> cores, load <1-min avg>'."""
    model, flags = 'unknown CPU', set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name' and model == 'unknown CPU':
                    model = value.strip()
                elif key.strip() == 'flags' and not flags:
                    flags = set(value.split())
    except OSError:  # not Linux
        model = sys.platform
    vector = ('AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags
              else 'no AVX2' if flags else 'vector extensions unknown')
    load = f', load {os.getloadavg()[0]:.1f}' if hasattr(os, 'getloadavg') else ''
    return f'{model}, {vector}, {threads} threads of {os.cpu_count()} cores{load}'


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

    if hasattr(F, 'batch_norm'):
        gamma, beta = tensor(64, grad=True), tensor(64, grad=True)
        mean, var = minicls.zeros(64).to(dev), minicls.ones(64).to(dev)

        def bn_relu():
            x.grad = gamma.grad = beta.grad = None
            y = F.relu(F.batch_norm(x, mean, var, gamma, beta, training=True))
            y.backward(gy)
        rows['BatchNorm2d+ReLU fwd+bwd'] = bn_relu

    resnet = resnet_minicls(n, dev, rng)
    if isinstance(resnet, str):
        print(f'note: ResNet_CIFAR-18 rows skipped ({resnet})')
    else:
        rows.update(resnet)
    return rows


def resnet_minicls(n, dev, rng, lr=0.01):
    """{'ResNet_CIFAR-18 inference': callable, '... train step': callable} running the model
    once, or a string saying why there are none."""
    try:
        from minicls.models import build_classifier
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
            losses = model(inputs=inputs, targets=targets, mode='loss')
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            with minicls.no_grad():
                for p in params:
                    p.add_(p.grad, alpha=-lr)
        def inference():
            model.eval()
            with minicls.no_grad():
                model(inputs=inputs, mode='tensor')
            model.train()
        step()  # fails here, not in the timing loop, if the model is not ready
        return {'ResNet_CIFAR-18 inference': inference, 'ResNet_CIFAR-18 train step': step}
    except Exception as err:  # another developer's work in progress
        return f'{type(err).__name__}: {err}'


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


# ---------------------------------------------------------------- memory

def step_memory_mib(framework, batch, threads):
    """Growth of peak RSS (MiB) from before building ResNet_CIFAR-18 and its batch to after
    three training steps of ``framework`` ('minicls' or 'torch'), in a fresh process (peak RSS
    never goes down, so each framework needs its own), or a string saying why there is none."""
    command = [sys.executable, '-m', 'minicls.tools.benchmark', '--memory-of', framework,
               '--batch', str(batch), '--threads', str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    try:
        return float(lines[-1])
    except (IndexError, ValueError):
        return (done.stderr.strip().splitlines() or ['no output'])[-1]


def measure_step_memory(args):
    """``--memory-of``: print the peak-RSS growth (MiB) of building the model and its batch
    and running three training steps (the first is inside ``resnet_minicls``/``torch_rows``'
    setup for minicls, so three for both)."""
    rng = np.random.default_rng(0)
    if args.memory_of == 'torch':
        import torch
        torch.set_num_threads(args.threads)
    before = peak_rss_kib()
    if args.memory_of == 'torch':
        g = torch.Generator().manual_seed(0)
        step = resnet_torch(torch, args.batch, 'cpu', g)['ResNet_CIFAR-18 train step']
        step()
    else:
        step = resnet_minicls(args.batch, 'cpu', rng)
        if isinstance(step, str):
            raise SystemExit(step)
        step = step['ResNet_CIFAR-18 train step']
    step()
    step()
    print((peak_rss_kib() - before) / 1024)


def peak_rss_kib():
    """This process's peak RSS in KiB: Linux's VmHWM (``ru_maxrss`` would carry over the
    parent's peak across fork + exec), else ``ru_maxrss`` (KiB on Linux, bytes on macOS)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == 'darwin' else peak


# ---------------------------------------------------------------- main

@command_line
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='BLAS / PyTorch threads (default: all cores)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed runs per row and framework (the fastest counts)')
    parser.add_argument('--device', default='cpu', help="minicls's device: cpu or cuda")
    parser.add_argument('--conv-algorithm', default='auto', choices=backends.CONV_ALGORITHMS,
                        help='minicls.backends.conv_algorithm (default: auto)')
    parser.add_argument('--memory', action='store_true',
                        help='also measure the peak-RSS growth of a training step (CPU)')
    parser.add_argument('--memory-of', choices=('minicls', 'torch'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if os.environ.get('OPENBLAS_NUM_THREADS') != str(args.threads):
        # BLAS fixed its thread count when NumPy loaded: run again with it set.
        env = dict(os.environ, **{v: str(args.threads) for v in THREAD_VARS})
        os.execve(sys.executable, [sys.executable, '-m', 'minicls.tools.benchmark'] +
                  (sys.argv[1:] if argv is None else list(argv)), env)
    for var in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
        if var in os.environ:
            print(f'warning: {var}={os.environ[var]} is set and may slow BLAS down; measure '
                  'with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m '
                  'minicls.tools.benchmark`')
    minicls.set_num_threads(args.threads)
    minicls.keep_freed_memory()   # as the training CLI does (PyTorch in this process gains too)
    backends.conv_algorithm = args.conv_algorithm
    if args.memory_of:
        return measure_step_memory(args)
    sync = lambda: None  # noqa: E731
    if args.device != 'cpu':
        xp = backend.xp_for(args.device)
        sync = xp.cuda.Device().synchronize
    ours = minicls_rows(args)
    torch_device, torch_sync = 'cpu', lambda: None  # noqa: E731
    try:
        import torch
        torch.set_num_threads(args.threads)
        if args.device != 'cpu' and torch.cuda.is_available():
            torch_device, torch_sync = 'cuda', torch.cuda.synchronize
        theirs = torch_rows(args, torch, torch_device)
    except ImportError:
        torch, theirs = None, {}
        print('note: PyTorch is not installed: no comparison column')
    print(cpu_description(args.threads))
    print(f'one {2048}x{2048} float32 GEMM (NumPy): {gemm_gflops():.0f} GFLOP/s')
    print(f'batch {args.batch}, fastest of {args.repeat} interleaved runs, minicls on '
          f'{args.device} (conv_algorithm={args.conv_algorithm}), PyTorch '
          f'{torch.__version__ if torch else "-"} on {torch_device}')
    print(f'{"":28s} {"minicls ms":>11s} {"GFLOP/s":>8s} {"PyTorch ms":>11s} {"GFLOP/s":>8s} '
          f'{"ratio":>6s}')
    flop = row_flop(args.batch)
    for name in [*ours] + [k for k in theirs if k not in ours]:
        mine, ref = time_interleaved(ours.get(name), theirs.get(name), args.repeat, sync,
                                     torch_sync)
        rates = [f'{flop[name] / t / 1e9:8.1f}' if t and name in flop else f'{"-":>8s}'
                 for t in (mine, ref)]
        ratio = f'{mine / ref:6.2f}' if mine and ref else '     -'
        print(f'{name:28s} {(mine or float("nan")) * 1e3:11.1f} {rates[0]} '
              f'{(ref or float("nan")) * 1e3:11.1f} {rates[1]} {ratio}', flush=True)
    if args.memory and args.device == 'cpu':
        mib = {f: step_memory_mib(f, args.batch, args.threads)
               for f in ('minicls', 'torch' if torch else None) if f}
        text = ', '.join(f'{f} {m:.0f} MiB' if isinstance(m, float) else f'{f}: {m}'
                         for f, m in mib.items())
        print(f'peak RSS growth, building the model + 3 training steps (fresh processes): '
              f'{text}')
    print(f'load average after: {os.getloadavg()[0]:.1f}' if hasattr(os, 'getloadavg') else '')


if __name__ == '__main__':
    sys.exit(main())
