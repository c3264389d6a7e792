"""``python -m minicls.tools.benchmark``: the FLOP counts behind its GFLOP/s columns, the
machine line, interleaved min-of-N timing and the peak-RSS figure, one tiny run; the depthwise
and attention rows run in both libraries under the same names, and ``--rows`` picks rows (and
builds only the models it picks); FastCifarNet's PyTorch twin matches minicls's model."""
import argparse
import os
import re
import subprocess
import sys

import pytest

import minicls
import minicls.nn.functional as F
from minicls import nn, parallel
from minicls.tools import benchmark as B
from minicls.tools import benchmark_rows as R
from minicls.tools.benchmark_rows import mobile_and_attention_rows


def test_flop_counts_match_the_known_figures():
    # ResNet_CIFAR-18: 555 M multiply-adds per image forward; a training step = 3 forwards.
    assert B.resnet_cifar18_flop(1) == pytest.approx(1.11e9, rel=0.01)
    rows = B.row_flop(64)
    assert rows['ResNet_CIFAR-18 train step'] == pytest.approx(213e9, rel=0.01)
    assert rows['conv3x3 64->64 fwd+bwd'] == 3 * rows['conv3x3 64->64 forward'] == \
        3 * 2 * 64 * 64 * 64 * 9 * 32 * 32


def test_the_machine_line_names_cpu_vector_unit_and_threads():
    line = B.cpu_description(2)
    assert re.search(r'(AVX-512|AVX2|no AVX2|vector extensions unknown), 2 threads of \d+ cores',
                     line), line


def test_timing_is_interleaved_and_keeps_the_fastest_run(monkeypatch):
    calls, clock = [], iter([5.0, 1.0, 3.0, 9.0, 2.0, 4.0, 7.0, 7.0])

    def fake(name):
        return lambda: calls.append(name)
    monkeypatch.setattr(B, 'timeit', lambda fn, sync=None: (fn(), next(clock))[1])
    ours, theirs = B.time_interleaved(fake('ours'), fake('theirs'), 2, None, None)
    assert calls == ['ours', 'theirs'] * 3            # a warm-up each, then alternately
    assert (ours, theirs) == (2.0, 4.0)             # the warm-ups (5, 1) do not count
    assert B.time_interleaved(fake('ours'), None, 1, None, None) == (7.0, None)


def test_peak_rss_is_read_and_a_failed_measure_says_why(monkeypatch):
    assert B.peak_rss_kib() > 1000
    monkeypatch.setattr(sys, 'executable', sys.executable)
    reason = B.step_memory_mib('nonsense', 2, 1)   # argparse refuses the choice
    assert isinstance(reason, str) and 'invalid choice' in reason


def test_a_tiny_run_prints_every_row_with_rates_and_the_machine():
    """Batch 2, one run, PyTorch hidden (its import alone would double the time): every row,
    the machine line, the GEMM rate, the algorithm and the TF32 switch (a note: it does nothing
    on a CPU); the PyTorch column says it is missing."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1')
    code = ("import sys; sys.modules['torch'] = None; from minicls.tools.benchmark import main; "
            "main(['--batch', '2', '--repeat', '1', '--threads', '1', "
            "'--conv-algorithm', 'winograd', '--tf32'])")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert 'PyTorch is not installed: no comparison column' in text
    assert re.search(r"one 2048x2048 float32 GEMM \(NumPy, 1 BLAS threads\): \d+ GFLOP/s", text)
    assert 'conv_algorithm=winograd, tf32=on' in text and '1 threads of' in text
    assert 'note: --tf32 changes nothing on a CPU' in text
    for row in ('conv3x3 64->64 forward', 'conv3x3 64->64 fwd+bwd', 'ResNet_CIFAR-18 inference',
                'ResNet_CIFAR-18 train step', 'FastCifarNet inference', 'FastCifarNet train step'):
        assert re.search(re.escape(row) + r'\s+[\d.]+\s+[\d.]+\s+nan\s+-\s+-', text), (row, text)


def test_mobile_and_attention_rows_run_in_minicls():
    rows = mobile_and_attention_rows(
        F, lambda *shape, grad=False: minicls.randn(*shape).requires_grad_(grad), 2)
    assert list(rows) == ['dwconv3x3 96ch 32x32 fwd+bwd', 'dwconv3x3 144ch 16x16 fwd+bwd',
                          'attention 4x65x48 fwd+bwd']
    for run in rows.values():
        run()


def test_rows_option_times_only_matching_rows(monkeypatch, capsys):
    pytest.importorskip('torch')
    for var in B.THREAD_VARS:                 # no re-exec: the thread count is set
        monkeypatch.setenv(var, '1')
    threads = parallel.get_num_threads()
    try:
        B.main(['--rows', 'attention', '--repeat', '1', '--batch', '2', '--threads', '1'])
    finally:
        parallel.set_num_threads(threads)
    table = capsys.readouterr().out.split('ratio')[1].strip().splitlines()
    assert [line.split()[0] for line in table if not line.startswith('load')] == ['attention']


def test_fast_cifar_net_flop_is_the_sum_over_the_models_conv_and_linear_layers():
    """Counted from the shapes the shipped model's Conv2d/Linear layers see in a forward."""
    model, macs = R.fast_cifar_net_minicls(), []

    def count(module, args, out):
        if isinstance(module, nn.Conv2d):
            cout, cin, kh, kw = module.weight.shape
            macs.append(cin * kh * kw * out.shape[1] * out.shape[2] * out.shape[3])
        else:
            macs.append(module.in_features * module.out_features)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.register_forward_hook(count)
    model.eval()
    with minicls.no_grad():
        model(inputs=minicls.randn(1, 3, 32, 32), mode='tensor')
    assert len(macs) == 8                          # whitening, 3 x 2 convs, the head
    assert B.fast_cifar_net_flop(1) == 2 * sum(macs) == pytest.approx(0.236e9, rel=0.01)
    rows = B.row_flop(4)
    assert rows['FastCifarNet train step'] == 3 * rows['FastCifarNet inference'] == \
        3 * B.fast_cifar_net_flop(4)


def test_fast_cifar_rows_run_in_both_libraries_and_the_twin_matches():
    torch = pytest.importorskip('torch')
    args = argparse.Namespace(batch=2, device='cpu', rows='FastCifarNet')
    ours, theirs = R.minicls_rows(args), R.torch_rows(args, torch)
    names = ['FastCifarNet inference', 'FastCifarNet train step']
    assert [k for k in ours if 'Net' in k] == names   # no ResNet built
    assert [k for k in theirs if 'Net' in k] == names
    for run in (*ours.values(), *theirs.values()):
        run()
    mine, twin = R.fast_cifar_net_minicls(), R.torch_fast_cifar_net(torch)
    trainable = [sum(p.numel() for p in m.parameters() if p.requires_grad) for m in (mine, twin)]
    total = [sum(p.numel() for p in m.parameters()) for m in (mine, twin)]
    assert trainable[0] == trainable[1] and total[0] == total[1] == pytest.approx(1.97e6, rel=0.01)
    mine.eval()
    twin.eval()
    with minicls.no_grad():
        out = mine(inputs=minicls.randn(3, 3, 32, 32), mode='tensor')
    with torch.no_grad():
        assert tuple(out.shape) == tuple(twin(torch.randn(3, 3, 32, 32)).shape) == (3, 10)


def test_rows_that_name_no_model_build_no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('a model was built')
    for name in ('resnet_minicls', 'fast_cifar_minicls', 'resnet_torch',
                 'torch_classifier_rows'):
        monkeypatch.setattr(R, name, refuse)
    args = argparse.Namespace(batch=2, device='cpu', rows='conv')
    assert list(R.minicls_rows(args)) == ['conv3x3 64->64 forward', 'conv3x3 64->64 fwd+bwd',
                                          'dwconv3x3 96ch 32x32 fwd+bwd',
                                          'dwconv3x3 144ch 16x16 fwd+bwd',
                                          'attention 4x65x48 fwd+bwd', 'BatchNorm2d+ReLU fwd+bwd']
    torch = pytest.importorskip('torch')
    assert 'FastCifarNet train step' not in R.torch_rows(args, torch)
    args.rows = 'train step'                  # now both models are selected
    with pytest.raises(AssertionError, match='a model was built'):
        R.minicls_rows(args)
