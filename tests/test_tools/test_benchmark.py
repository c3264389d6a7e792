"""The benchmark's rows: the depthwise and attention rows run in both libraries under the same
names, and ``--rows`` picks rows by name."""
import pytest

import minicls
import minicls.nn.functional as F
from minicls import parallel
from minicls.tools import benchmark


def test_mobile_and_attention_rows_run_in_minicls():
    rows = benchmark.mobile_and_attention_rows(
        F, lambda *shape, grad=False: minicls.randn(*shape).requires_grad_(grad), 2)
    assert list(rows) == ['dwconv3x3 96ch 32x32 fwd+bwd', 'dwconv3x3 144ch 16x16 fwd+bwd',
                          'attention 4x65x48 fwd+bwd']
    for run in rows.values():
        run()


def test_rows_option_times_only_matching_rows(monkeypatch, capsys):
    pytest.importorskip('torch')
    for var in benchmark.THREAD_VARS:                 # no re-exec: the thread count is set
        monkeypatch.setenv(var, '1')
    threads = parallel.get_num_threads()
    try:
        benchmark.main(['--rows', 'attention', '--repeat', '1', '--batch', '2',
                        '--threads', '1'])
    finally:
        parallel.set_num_threads(threads)
    table = capsys.readouterr().out.split('ratio')[1].strip().splitlines()
    assert [line.split()[0] for line in table] == ['attention']
