"""The backward pass: walk the graph from the output back to the leaves.

The graph is made of ``Context`` nodes (``tensor.grad_fn``), each pointing at the input
Tensors it needs a gradient for. ``backward`` works in two loops and no recursion, so a
chain of any depth works:

1. Walk the graph once from the root and count, for every node, how many of its results'
   consumers will send it a gradient.
2. Start at the root with ``dL/droot`` and run nodes whose count reached zero: by then every
   contribution to their output gradient has been summed (this is a topological order).
   Each node's ``backward`` gives the gradients of its inputs: leaves accumulate them in
   ``.grad``, inner nodes collect them until their own count reaches zero.

A node frees its saved arrays right after its backward ran, unless ``retain_graph=True``;
a second backward through it then raises a clear error instead of reading freed memory.
"""
from .function import run_backward

_after_backward = []  # functions to call once, when the next backward has finished


def call_after_backward(fn):
    """Call ``fn()`` once when the next ``backward`` has filled every ``.grad`` (as
    ``torch.autograd.Variable._execution_engine.queue_callback``; DistributedDataParallel
    averages the gradients over the ranks there)."""
    _after_backward.append(fn)


def backward(root, grad, retain_graph=False):
    """Accumulate ``d(root)/d(leaf) * grad`` into ``leaf.grad`` for every leaf of the graph."""
    _backward(root, grad, retain_graph)
    while _after_backward:
        _after_backward.pop(0)()


def _backward(root, grad, retain_graph):
    if root.grad_fn is None:
        root._accumulate_grad(grad)
        return
    pending = _count_consumers(root.grad_fn)
    grads = {root.grad_fn: grad}
    ready = [root.grad_fn]
    while ready:
        node = ready.pop()
        if node.freed:
            raise RuntimeError(
                f'Trying to backward through the graph a second time ({node.name()} has already '
                'freed its saved arrays). Call .backward(retain_graph=True) the first time if '
                'you need to backward twice, or recompute the forward pass.')
        input_grads = run_backward(node, grads.pop(node))
        inputs = node.inputs
        if not retain_graph:
            node.release()
        for tensor, g in zip(inputs, input_grads):
            if g is None:
                continue
            if tensor._retains_grad or tensor.grad_fn is None:
                tensor._accumulate_grad(g)
            parent = tensor.grad_fn
            if parent is not None:
                grads[parent] = g if parent not in grads else grads[parent] + g
                pending[parent] -= 1
                if pending[parent] == 0:
                    ready.append(parent)


def _count_consumers(root_node):
    """For every node reachable from ``root_node``: how many gradients will flow into it."""
    pending = {}
    stack = [root_node]
    seen = {root_node}
    while stack:
        node = stack.pop()
        for tensor in node.inputs:
            parent = None if tensor is None else tensor.grad_fn
            if parent is None:
                continue
            pending[parent] = pending.get(parent, 0) + 1
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return pending
