"""How fast are minicls's layers? Times them against PyTorch at the same thread count
(on the GPU with ``--device cuda``: minicls on CuPy, PyTorch on CUDA when it has it).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m minicls.tools.benchmark

Rows: a 3x3 conv (batch 64, 64 -> 64 channels, 32x32, padding 1) forward and forward +
backward, depthwise 3x3 convs and attention forward + backward (``mobile_and_attention_rows``;
the rows are written in ``benchmark_rows.py``), BatchNorm2d + ReLU forward + backward, and the
inference forward and training step (forward, loss, backward, SGD update) of ResNet_CIFAR-18
(cross-entropy) and of FastCifarNet (the ``fast_cifar`` recipe's model, label smoothing 0.2;
PyTorch's twin is ``torch_fast_cifar_net``). A model is built (and stepped once) only when
``--rows`` selects one of its rows, so ``--rows conv --batch 1024`` builds none. The two
columns are timed interleaved (minicls, PyTorch, minicls, ...) after one warm-up run each, and
each is the fastest of ``--repeat`` runs: on a busy machine the minimum is the
run least disturbed by other processes. GFLOP/s counts the direct convolution's arithmetic
(2 * multiply-adds; backward = 2x forward) whatever algorithm ran, beside one large GEMM's
rate on this machine: "how close to the limit". The header names the CPU, its vector
extensions, the threads and the load average; ``--memory`` adds each framework's growth of
peak RSS over building the model and three training steps, each in a fresh process.
``--conv-algorithm`` sets ``minicls.backends.conv_algorithm`` (compare im2col and Winograd).
On a GPU ``--tf32`` lets both frameworks' float32 GEMMs and convs use TF32 tensor cores
(``minicls.backends.cuda.matmul.allow_tf32``; torch's ``cuda.matmul`` and ``cudnn`` switches);
without it both run in full float32 (torch's cuDNN would otherwise use TF32 by default).
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
from minicls import backend, backends
from minicls.cli import command_line

from .benchmark_rows import minicls_rows, resnet_minicls, resnet_torch, torch_rows

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


def fast_cifar_net_flop(n):
    """Forward FLOP of FastCifarNet (the convs and the linear head; 0.118 GMAC = 0.236 GFLOP
    per image): the 2x2 whitening conv 3 -> 24 at 31x31, then per group of widths 64/256/256 a
    3x3 conv at the group's input size (31, 15, 7) and one at the pooled size (15, 7, 3)."""
    flop, cin, size = conv_flop(n, 3, 24, 2, 31), 24, 31
    for width in (64, 256, 256):
        flop += conv_flop(n, cin, width, 3, size) + conv_flop(n, width, width, 3, size // 2)
        cin, size = width, size // 2
    return flop + 2 * n * 256 * 10


def row_flop(n):
    """{row name: FLOP of one run}; rows without one (batch norm) are left out."""
    conv = conv_flop(n, 64, 64, 3, 32)
    return {'conv3x3 64->64 forward': conv, 'conv3x3 64->64 fwd+bwd': 3 * conv,
            'ResNet_CIFAR-18 inference': resnet_cifar18_flop(n),
            'ResNet_CIFAR-18 train step': 3 * resnet_cifar18_flop(n),
            'FastCifarNet inference': fast_cifar_net_flop(n),
            'FastCifarNet train step': 3 * fast_cifar_net_flop(n)}


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
        step = resnet_minicls(args.batch, 'cpu', rng)['ResNet_CIFAR-18 train step']
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
    parser.add_argument('--rows', default='', help='time only the rows whose name contains '
                        'this text (default: all)')
    parser.add_argument('--conv-algorithm', default='auto', choices=backends.CONV_ALGORITHMS,
                        help='minicls.backends.conv_algorithm (default: auto)')
    parser.add_argument('--tf32', action='store_true',
                        help='GPU: TF32 tensor cores for float32 GEMMs and convs, in both '
                             'frameworks (default: full float32 in both)')
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
    backends.cuda.matmul.allow_tf32 = args.tf32
    if args.tf32 and args.device == 'cpu':
        print('note: --tf32 changes nothing on a CPU (it is for --device cuda)')
    if args.memory_of:
        return measure_step_memory(args)
    sync = lambda: None  # noqa: E731
    if args.device != 'cpu':
        xp = backend.xp_for(args.device)
        sync = xp.cuda.Device().synchronize
    gemm = gemm_gflops()   # before minicls's pool starts and sets BLAS to one thread
    ours = minicls_rows(args)
    torch_device, torch_sync = 'cpu', lambda: None  # noqa: E731
    try:
        import torch
        torch.set_num_threads(args.threads)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
        if args.device != 'cpu' and torch.cuda.is_available():
            torch_device, torch_sync = 'cuda', torch.cuda.synchronize
        theirs = torch_rows(args, torch, torch_device)
    except ImportError:
        torch, theirs = None, {}
        print('note: PyTorch is not installed: no comparison column')
    print(cpu_description(args.threads))
    print(f'one {2048}x{2048} float32 GEMM (NumPy, {args.threads} BLAS threads): '
          f'{gemm:.0f} GFLOP/s')
    print(f'batch {args.batch}, fastest of {args.repeat} interleaved runs, minicls on '
          f'{args.device} (conv_algorithm={args.conv_algorithm}, '
          f'tf32={"on" if args.tf32 else "off"}), PyTorch '
          f'{torch.__version__ if torch else "-"} on {torch_device}')
    print(f'{"":28s} {"minicls ms":>11s} {"GFLOP/s":>8s} {"PyTorch ms":>11s} {"GFLOP/s":>8s} '
          f'{"ratio":>6s}')
    flop = row_flop(args.batch)
    for name in [k for k in [*ours] + [k for k in theirs if k not in ours] if args.rows in k]:
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
