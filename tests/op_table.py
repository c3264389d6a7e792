"""The op table: every ``Function`` subclass in minicls, with the test cases it declares."""
import minicls
import minicls.nn  # noqa: F401 (registers the layer ops)
from minicls.autograd import Function


def all_ops():
    """Every Function subclass defined inside the minicls package, sorted by name."""
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return sorted((op for op in found if op.__module__.startswith('minicls.')),
                  key=lambda op: (op.__module__, op.__name__))


def all_cases():
    """(op, case) pairs for pytest parametrisation."""
    return [(op, case) for op in all_ops() for case in op.__dict__.get('cases', [])]


def case_id(pair):
    op, case = pair
    return f'{op.__name__}-{case.name}'


def make_inputs(case, seed=0):
    """NumPy float64 arrays in each input's domain (same values for every library)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=shape)
            for shape, (low, high) in zip(case.shapes, case.domains)]


def ops_in_graph(tensor):
    """The op classes that produced ``tensor`` (walks grad_fn links)."""
    seen, stack, ops = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        ops.add(node.function)
        stack.extend(t.grad_fn for t in node.inputs if t is not None)
    return ops
