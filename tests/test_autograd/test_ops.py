"""The generic op suite: for every case of every op in the op table,
a float64 finite-difference gradient check and forward+backward parity with PyTorch."""
import numpy as np
import pytest

import minicls
from minicls.autograd import gradcheck
from op_table import all_cases, all_ops, case_id, make_inputs, ops_in_graph

CASES = all_cases()


def test_every_op_declares_cases():
    missing = [op.__name__ for op in all_ops()
               if not op.__dict__.get('cases') and not op.__dict__.get('tested_in')]
    assert not missing, f'ops without test cases (add `cases = [OpCase(...)]`): {missing}'


def test_the_table_is_not_empty():
    assert len(all_ops()) >= 30 and len(CASES) >= len(all_ops())


def test_every_op_is_exercised_by_its_cases():
    unexercised = []
    for op in all_ops():
        if op.__dict__.get('tested_in'):
            continue
        ran = set()
        for case in op.__dict__.get('cases', []):
            xs = [minicls.tensor(a, requires_grad=True) for a in make_inputs(case)]
            out = case.fn(minicls, *xs)
            ran |= ops_in_graph(out[0] if isinstance(out, tuple) else out)
        if op not in ran:
            unexercised.append(op.__name__)
    assert not unexercised, f'no case of these ops runs them: {unexercised}'


@pytest.mark.parametrize('pair', CASES, ids=[case_id(p) for p in CASES])
def test_gradcheck_float64(pair):
    op, case = pair
    xs = [minicls.tensor(a, dtype=minicls.float64, requires_grad=i in case.grad)
          for i, a in enumerate(make_inputs(case))]
    assert gradcheck(lambda *t: case.fn(minicls, *t), xs, eps=case.eps)


@pytest.mark.parametrize('pair', CASES, ids=[case_id(p) for p in CASES])
def test_pytorch_parity(pair):
    torch = pytest.importorskip('torch')
    op, case = pair
    arrays = [a.astype(np.float32) for a in make_inputs(case, seed=1)]
    ours = [minicls.tensor(a, requires_grad=i in case.grad) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in case.grad) for i, a in enumerate(arrays)]
    out, ref = case.fn(minicls, *ours), case.fn(torch, *theirs)
    out, ref = (out[0], ref[0]) if isinstance(out, tuple) else (out, ref)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == np.dtype(str(ref.dtype).replace('torch.', ''))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=case.atol, rtol=case.rtol)
    cotangent = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    (out * minicls.tensor(cotangent)).sum().backward()
    (ref * torch.tensor(cotangent)).sum().backward()
    for i in case.grad:
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(),
                                   atol=case.atol * 10, rtol=case.rtol * 10,
                                   err_msg=f'gradient of input {i}')
