"""The engine's behaviour: graph walking, accumulation, freeing, grad mode, errors."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minicls
from minicls.autograd import Function, gradcheck


def test_backward_of_a_small_graph():
    x = minicls.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = minicls.tensor([4.0, 5.0, 6.0], requires_grad=True)
    loss = (x * y + x ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 9.0, 12.0])
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 2.0, 3.0])


def test_a_reused_tensor_accumulates_from_every_use():
    x = minicls.tensor(3.0, requires_grad=True)
    a = x * x          # x used twice by one op
    b = a + x          # and once more by another
    (a * b).backward()  # d/dx (x^2 (x^2 + x)) = 4x^3 + 3x^2
    assert x.grad.item() == pytest.approx(4 * 27 + 3 * 9)


def test_grads_accumulate_across_backward_calls_until_zeroed():
    x = minicls.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_broadcast_gradients_are_summed_to_the_input_shape():
    x = minicls.ones(3, 1, requires_grad=True)
    y = minicls.ones(1, 4, requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.shape == (3, 1) and y.grad.shape == (1, 4)
    np.testing.assert_allclose(x.grad.numpy(), 4.0)
    np.testing.assert_allclose(y.grad.numpy(), 3.0)


def test_a_1000_op_chain_needs_no_recursion():
    x = minicls.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 5000, rel=1e-3)


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = minicls.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match='second time.*retain_graph=True'):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = minicls.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp()).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_non_scalar_backward_needs_a_gradient():
    x = minicls.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r'scalar outputs.*shape \(2, 3\)'):
        y.backward()
    y.backward(minicls.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_backward_on_a_tensor_without_grad_says_why():
    with pytest.raises(RuntimeError, match='does not require grad'):
        minicls.ones(2).sum().backward()


def test_shape_mismatch_names_the_op_and_the_shapes():
    with pytest.raises(RuntimeError, match=r'Add: .*\(2, 3\) and \(4,\)'):
        minicls.ones(2, 3) + minicls.ones(4)
    with pytest.raises(RuntimeError, match=r'matmul: shapes \(2, 3\) and \(4, 5\)'):
        minicls.ones(2, 3) @ minicls.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 6"):
        minicls.ones(2, 3).view(5)


def test_integer_and_bool_tensors_never_require_grad():
    with pytest.raises(RuntimeError, match='floating point'):
        minicls.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match='floating point'):
        minicls.tensor([True]).requires_grad_()
    x = minicls.tensor([1.0, -1.0], requires_grad=True)
    assert not (x > 0).requires_grad and not x.argmax().requires_grad


def test_no_grad_records_nothing_and_restores_the_mode():
    x = minicls.ones(3, requires_grad=True)
    with minicls.no_grad():
        y = x * 2
        assert not minicls.is_grad_enabled()
        with minicls.enable_grad():
            z = x * 2
    assert minicls.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None

    @minicls.no_grad()
    def evaluate(t):
        return t * 3
    assert evaluate(x).grad_fn is None


def test_the_engine_checks_what_a_backward_returns():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, gy):
            return gy[:1]
    x = minicls.ones(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r'BadShape.backward returned a gradient of shape'):
        BadShape.apply(x).sum().backward()

    class IntGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, gy):
            return gy.astype(np.int64)
    with pytest.raises(TypeError, match='IntGrad.backward returned a gradient of dtype int64'):
        IntGrad.apply(minicls.ones(2, requires_grad=True)).sum().backward()

    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy, gy
    with pytest.raises(RuntimeError, match='TooMany.backward returned 2 gradients, expected 1'):
        TooMany.apply(minicls.ones(2, requires_grad=True)).sum().backward()


def test_gradients_are_cast_to_the_input_dtype():
    class Upcast(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy.astype(np.float64)
    x = minicls.ones(2, requires_grad=True)
    Upcast.apply(x).sum().backward()
    assert x.grad.dtype == minicls.float32


def test_a_user_function_and_gradcheck():
    class Cube(Function):
        """y = x^3, dy/dx = 3 x^2"""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return 3 * x * x * gy
    x = minicls.randn(4, dtype=minicls.float64, requires_grad=True)
    assert gradcheck(Cube.apply, [x])
    assert x.grad is None          # as torch's gradcheck: the inputs' .grad is left alone
    x.grad = minicls.ones(4, dtype=minicls.float64)
    assert gradcheck(Cube.apply, [x]) and np.array_equal(x.grad.numpy(), np.ones(4))

    class Wrong(Cube):
        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return 2 * x * x * gy
    with pytest.raises(AssertionError, match='gradcheck failed for input 0'):
        gradcheck(Wrong.apply, [x])
    with pytest.raises(TypeError, match='float64'):
        gradcheck(Cube.apply, [minicls.randn(3, requires_grad=True)])


def test_saved_arrays_are_released_after_backward():
    x = minicls.randn(1000, requires_grad=True)
    y = x.exp()                      # Exp saves its output array
    saved = weakref.ref(y.grad_fn.saved_tensors[0])
    loss = (y * 2).sum()
    del y
    assert saved() is not None       # still needed by the graph
    loss.backward()
    gc.collect()
    assert saved() is None           # freed as soon as Exp's backward ran


def test_training_memory_does_not_grow_step_by_step():
    w = minicls.randn(256, 256, requires_grad=True)
    x = minicls.randn(64, 256)

    def step():
        loss = ((x @ w).relu() @ w).tanh().mean()
        loss.backward()
        with minicls.no_grad():
            w.sub_(w.grad, alpha=0.01)
        w.grad = None

    step()
    tracemalloc.start()
    step()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(20):
        step()
    last, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert last - first < 256 * 1024  # no per-step growth (one step allocates ~0.5 MB)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = minicls.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def test_detach_cuts_the_graph():
    x = minicls.ones(2, requires_grad=True)
    y = (x * 2).detach()
    assert y.grad_fn is None and not y.requires_grad


def test_in_place_update_of_a_leaf_requires_no_grad():
    w = minicls.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match='no_grad'):
        w.add_(1)
    with minicls.no_grad():
        w.add_(1)
    np.testing.assert_allclose(w.numpy(), 2.0)


def test_the_profiler_times_each_op_forward_and_backward():
    x = minicls.randn(64, 64, requires_grad=True)
    with minicls.autograd.profile() as prof:
        (x @ x).exp().sum().backward()
    assert prof.calls[('MatMul', 'forward')] == 1 and prof.calls[('MatMul', 'backward')] == 1
    assert prof.calls[('Exp', 'forward')] == 1 and prof.times[('MatMul', 'backward')] > 0
    table = prof.table()
    assert 'MatMul' in table and 'Exp' in table and 'total' in table
    (x * 2).sum().backward()  # outside the block: nothing more recorded
    assert ('Mul', 'forward') not in prof.calls


def test_results_made_from_a_parameter_are_plain_tensors():
    """Ops, comparisons and argmax build a minicls.Tensor (Function.tensor_class), never the
    operand's class: a Parameter's comparisons used to raise (a bool Parameter needs grad)."""
    from minicls.autograd import Function
    from minicls.nn import Parameter
    assert Function.tensor_class is minicls.Tensor
    p = Parameter(minicls.tensor([1.0, -2.0]))
    for out in (p > 0, p == p, ~(p > 0), p.any(), p.isnan(), p * 2, minicls.argmax(p), p.max(0)[1]):
        assert type(out) is minicls.Tensor
    assert (p > 0).tolist() == [True, False] and not (p * 2).is_leaf
