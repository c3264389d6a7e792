"""PyTorch names minicls adds beyond the op table: docs/torch_api.md against the code,
randint's two forms, scatter_ (one-hot) and the errors of the new functions. The gradients
and torch parity of the new functions are in the op table (tests/test_autograd/test_ops.py)."""
import pathlib
import re

import numpy as np
import pytest

import minicls
from minicls.nn import functional as F

DOC = pathlib.Path(__file__).resolve().parent.parent / 'docs' / 'torch_api.md'
ROW = re.compile(r'^\| `([^`]+)` \| (yes|no) \|', re.M)


def _resolve(name, torch_like, tensor, functional, nn):
    """``torch.flip`` / ``Tensor.flip`` / ``F.silu`` / ``nn.SiLU`` looked up in a library."""
    head, _, rest = name.partition('.')
    obj = {'torch': torch_like, 'Tensor': tensor, 'F': functional, 'nn': nn}[head]
    for part in rest.split('.'):
        if not hasattr(obj, part):
            return False
    return True


def _rows():
    rows = ROW.findall(DOC.read_text())
    assert len(rows) > 150
    return rows


def test_the_doc_table_says_what_minicls_has():
    wrong = [(name, said) for name, said in _rows()
             if _resolve(name, minicls, minicls.Tensor, F, minicls.nn) != (said == 'yes')]
    assert not wrong, f'docs/torch_api.md is out of date for: {wrong}'


def test_the_doc_table_lists_real_pytorch_names():
    torch = pytest.importorskip('torch')
    unknown = [name for name, _ in _rows()
               if not _resolve(name, torch, torch.Tensor, torch.nn.functional, torch.nn)]
    assert not unknown, f'not PyTorch names: {unknown}'


def test_randint_takes_both_pytorch_forms():
    minicls.manual_seed(0)
    a = minicls.randint(5, (200,))                    # randint(high, size)
    b = minicls.randint(3, 5, (2, 100))               # randint(low, high, size)
    c = minicls.randint(4, size=(3,))
    assert a.shape == (200,) and a.dtype == np.int64 and set(a.tolist()) == set(range(5))
    assert b.shape == (2, 100) and set(b.numpy().ravel().tolist()) == {3, 4}
    assert c.shape == (3,) and int(c.max()) < 4


def test_scatter_in_place_makes_one_hot_targets_as_pytorch():
    labels = [[2], [0], [3]]
    ours = minicls.zeros(3, 4, dtype=minicls.long).scatter_(1, minicls.tensor(labels), 1)
    np.testing.assert_array_equal(ours.numpy(), np.eye(4, dtype=np.int64)[[2, 0, 3]])
    assert ours.dtype == np.int64
    torch = pytest.importorskip('torch')
    theirs = torch.zeros(3, 4).scatter_(1, torch.tensor(labels), 0.9)
    np.testing.assert_allclose(minicls.zeros(3, 4).scatter_(1, minicls.tensor(labels),
                                                            0.9).numpy(), theirs.numpy())


def test_scatter_errors_say_what_to_fix():
    x = minicls.zeros(2, 3)
    with pytest.raises(IndexError, match=r'index values must be in \[0, 2\]'):
        x.scatter(1, minicls.tensor([[3], [0]]), 1.0)
    with pytest.raises(RuntimeError, match='index needs as many dims as the tensor'):
        x.scatter(1, minicls.tensor([0, 1]), 1.0)
    with pytest.raises(TypeError, match='index must hold integers'):
        x.scatter(1, minicls.tensor([[0.0], [1.0]]), 1.0)
    with pytest.raises(RuntimeError, match=r'expected src of the tensor\'s dtype float32'):
        x.scatter(1, minicls.tensor([[0], [1]]), minicls.ones(2, 1, dtype=minicls.float64))
    with pytest.raises(RuntimeError, match='is larger than src'):
        x.scatter(1, minicls.tensor([[0, 1], [1, 2]]), minicls.ones(2, 1))
    with pytest.raises(TypeError, match='give src'):
        x.scatter(1, minicls.tensor([[0], [1]]))
    with pytest.raises(IndexError, match='dim 2 is out of range'):
        x.scatter(2, minicls.tensor([[0], [1]]), 1.0)
    leaf = minicls.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match='in-place operation'):
        leaf.scatter_(1, minicls.tensor([[0], [1]]), 1.0)


def test_scatter_gradient_with_a_larger_src_where_pytorch_has_none():
    """PyTorch raises on backward when src is larger than index; minicls gives the gradient
    (0 for the unused elements of src): checked by finite differences."""
    x = minicls.randn(3, 3, dtype=minicls.float64, requires_grad=True)
    src = minicls.randn(2, 4, dtype=minicls.float64, requires_grad=True)
    index = minicls.tensor([[1, 0, 2]])
    assert minicls.autograd.gradcheck(lambda a, s: minicls.scatter(a, 0, index, s), [x, src])
    src.grad = None
    minicls.scatter(x, 0, index, src).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [[1, 1, 1, 0], [0, 0, 0, 0]])


def test_shape_function_errors():
    x = minicls.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match='dim .* appears multiple times'):
        x.flip(0, -3)
    with pytest.raises(RuntimeError, match=r'split_sizes \[1, 2\] add up to 3, but dim 0 has '
                                           'size 2'):
        x.split([1, 2], 0)
    with pytest.raises(RuntimeError, match='expects a tensor with <= 2 dimensions'):
        x.t()
    with pytest.raises(RuntimeError, match='number of repeat dims'):
        x.repeat(2, 2)
    with pytest.raises(RuntimeError, match='shifts and dims need the same length'):
        x.roll((1, 2), 0)
    with pytest.raises(RuntimeError, match='expected a bool mask'):
        x.masked_fill(minicls.ones(4), 1.0)
    with pytest.raises(ValueError, match='p must be a positive finite number'):
        x.norm(p=0)
    with pytest.raises(TypeError, match='iteration over a 0-d tensor'):
        list(minicls.tensor(1.0))


def test_new_tensors_and_bernoulli_follow_the_tensor():
    x = minicls.zeros(2, dtype=minicls.float64)
    assert x.new_zeros(3, 2).shape == (3, 2) and x.new_zeros((3,)).dtype == np.float64
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 7, dtype=minicls.long).tolist() == [7, 7]
    assert x.new_tensor([1, 2]).dtype == np.float64
    minicls.manual_seed(0)
    mask = x.new_empty((1000,)).bernoulli_(0.8)
    assert set(mask.tolist()) == {0.0, 1.0} and 0.75 < mask.mean().item() < 0.85
    assert minicls.is_tensor(x) and not minicls.is_tensor(x.numpy())
    assert minicls.numel(minicls.zeros(2, 3)) == 6
