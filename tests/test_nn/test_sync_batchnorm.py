"""nn.SyncBatchNorm in one process: plain batch norm (the two-rank case is in
tests/test_distributed/test_ddp.py)."""
import numpy as np
import pytest

import minicls
from minicls import nn
from minicls.autograd.gradcheck import gradcheck
from minicls.nn.modules.sync_batchnorm import SyncBatchNormFunction


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize('shape', [(4, 3), (3, 2, 3, 2), (2, 3, 5)])
def test_gradcheck_float64(shape):
    c = shape[1]
    x, w, b = (minicls.tensor(a, requires_grad=True)
               for a in (_x(shape), _x(c, 1) + 1, _x(c, 2)))
    assert gradcheck(lambda x, w, b: SyncBatchNormFunction.apply(x, w, b), [x, w, b])


def test_one_process_is_batchnorm_and_matches_pytorch():
    torch = pytest.importorskip('torch')
    x = _x((4, 3, 2, 2))
    ours, theirs = nn.SyncBatchNorm(3, momentum=0.2), torch.nn.SyncBatchNorm(3, momentum=0.2)
    for _ in range(2):  # two steps: the running statistics move twice
        xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
        xm = minicls.tensor(x.astype(np.float32), requires_grad=True)
        yt, ym = theirs(xt), ours(xm)
        (yt * torch.tensor(_x(x.shape, 3), dtype=torch.float32)).sum().backward()
        (ym * minicls.tensor(_x(x.shape, 3).astype(np.float32))).sum().backward()
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), atol=1e-4)
    for name in ('weight', 'bias'):
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(),
                                   getattr(theirs, name).grad.numpy(), atol=1e-4)
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        np.testing.assert_allclose(getattr(ours, name).numpy(),
                                   getattr(theirs, name).numpy(), atol=1e-6)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(minicls.tensor(x.astype(np.float32))).numpy(),
                               theirs(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
                               atol=1e-5)


def test_convert_sync_batchnorm_keeps_the_weights_and_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(4)))
    model[1].running_mean.data[:] = 5
    weight = model[1].weight
    model.eval()
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert converted[1].weight is weight and float(converted[1].running_mean.data[0]) == 5
    assert not converted[1].training
    assert set(converted.state_dict()) == {'0.weight', '0.bias', '1.weight', '1.bias',
                                           '1.running_mean', '1.running_var',
                                           '1.num_batches_tracked', '2.0.weight', '2.0.bias',
                                           '2.0.running_mean', '2.0.running_var',
                                           '2.0.num_batches_tracked'}


def test_bad_inputs_are_refused():
    with pytest.raises(RuntimeError, match='expected input with 3 channels'):
        nn.SyncBatchNorm(3)(minicls.tensor(_x((2, 4))))
    with pytest.raises(ValueError, match='2D or more'):
        nn.SyncBatchNorm(3)(minicls.tensor(_x(3)))


def test_on_the_device(cuda):
    """The statistics go through host buffers with CuPy arrays (the CuPy stand-in here)."""
    x = _x((4, 3, 2, 2)).astype(np.float32)
    cpu, gpu = nn.SyncBatchNorm(3), nn.SyncBatchNorm(3).to(cuda)
    yc = cpu(minicls.tensor(x, requires_grad=True))
    xg = minicls.tensor(x, device=cuda, requires_grad=True)
    yg = gpu(xg)
    yg.sum().backward()
    np.testing.assert_allclose(yg.cpu().numpy(), yc.numpy(), atol=1e-5)
    np.testing.assert_allclose(gpu.running_var.cpu().numpy(), cpu.running_var.numpy(),
                               atol=1e-6)
    assert xg.grad.device == yg.device
