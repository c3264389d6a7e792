"""The package's imports go one way.

The import graph is read from the source with ``ast`` (module-level imports only: those run
when a module is imported; an import inside a function runs later and cannot form a cycle at
import time). A cycle there works only for some import orders, so these tests also import each
module first, in a fresh interpreter, and check that ``minicls.nn`` never reaches the registry
(``torch.nn`` knows nothing of configs; ``minicls.cnn`` is where layers meet the registry).
"""
import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

import minicls

PACKAGE = Path(minicls.__file__).parent


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}


def module_level_imports(tree):
    """The import statements that run when the module is imported (not those in functions)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            stack.extend(ast.iter_child_nodes(node))


def imported_modules(name, nodes):
    """The minicls modules that import statements ``nodes`` in module ``name`` load.

    ``from pkg import x`` loads the submodule ``pkg.x`` when there is one, else ``pkg`` itself;
    relative imports are resolved against the module's package.
    """
    package = name.split('.') if MODULES[name].name == '__init__.py' else name.split('.')[:-1]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
            continue
        if node.level:
            base = package[:len(package) - node.level + 1]
            target = '.'.join(base + ([node.module] if node.module else []))
        else:
            target = node.module
        for alias in node.names:
            if f'{target}.{alias.name}' in MODULES:
                found.add(f'{target}.{alias.name}')
            elif target in MODULES:
                found.add(target)
    # Importing a.b.c first runs the package a.b (its __init__.py), unless it is a package
    # around ``name``, which is being imported already.
    for module in list(found):
        parts = module.split('.')
        for i in range(2, len(parts)):
            parent = '.'.join(parts[:i])
            if not name.startswith(parent + '.'):
                found.add(parent)
    found.discard(name)
    return found


@functools.lru_cache(maxsize=None)  # read once per test session
def import_graph():
    return {name: imported_modules(name, module_level_imports(ast.parse(path.read_text())))
            for name, path in MODULES.items()}


def find_cycle(graph):
    """One cycle of ``graph`` as a list ``[a, b, ..., a]``, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def test_the_graph_reader_resolves_imports():
    graph = import_graph()
    assert 'minicls.tensor_ops' in graph['minicls.tensor']          # from .tensor_ops import ...
    assert 'minicls.functional' in graph['minicls.tensor_ops']      # from . import functional
    assert 'minicls.autograd.ops' in graph['minicls.functional']    # from .autograd import ops
    assert 'minicls.nn.functional' in graph['minicls.nn']           # from . import functional
    assert 'minicls.registry' in graph['minicls.cnn.bricks']        # from ..registry import ...
    assert 'minicls.nn.modules' in graph['minicls.cnn.bricks']      # the package of a module
    assert 'minicls.nn' not in graph['minicls.nn.modules.conv']     # ... but not its own
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_module_level_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, 'module-level import cycle: ' + ' -> '.join(cycle)


def test_nn_imports_nothing_of_the_registry():
    for name, path in MODULES.items():
        if name == 'minicls.nn' or name.startswith('minicls.nn.'):
            tree = ast.parse(path.read_text())
            every_import = [n for n in ast.walk(tree)
                            if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not any(m.startswith('minicls.registry')
                           for m in imported_modules(name, every_import)), name
    graph = import_graph()
    assert not {m for m in reachable(graph, 'minicls.nn') if m.startswith('minicls.registry')}


# Each module is imported first into an empty sys.modules, with minicls/__init__.py replaced by
# an empty package, so that no import order written there can hold a cycle together.
CHECK_IMPORT_ORDER = '''
import importlib, sys, types
path = sys.argv[1]
for name in sys.argv[2:]:
    for loaded in [m for m in sys.modules if m == 'minicls' or m.startswith('minicls.')]:
        del sys.modules[loaded]
    package = types.ModuleType('minicls')
    package.__path__ = [path]
    sys.modules['minicls'] = package
    try:
        importlib.import_module(name)
        F = importlib.import_module('minicls.functional')
        T = importlib.import_module('minicls.tensor')
        assert F.add(T.Tensor([1.0, 2.0]), 1).sum().item() == 5.0
    except Exception as err:
        sys.exit(f'importing {name} first failed: {type(err).__name__}: {err}')
'''

# The core chain and the packages above it (all modules would take ~15 s; the cycle test above
# covers the rest).
FIRST = ['minicls.autograd.function', 'minicls.autograd.ops', 'minicls.tensor_ops',
         'minicls.tensor', 'minicls.functional', 'minicls.creation', 'minicls.nn.functional',
         'minicls.nn', 'minicls.cnn', 'minicls.registry', 'minicls.models']


def test_any_core_module_can_be_imported_first():
    """No import order is needed: each imported first, without minicls/__init__.py's order."""
    result = subprocess.run([sys.executable, '-c', CHECK_IMPORT_ORDER, str(PACKAGE), *FIRST],
                            capture_output=True, text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_builders_old_home_still_works():
    from minicls import cnn, nn
    from minicls.nn import ConvModule, build_norm_layer  # where the spec and old code import them
    assert ConvModule is cnn.ConvModule and build_norm_layer is cnn.build_norm_layer
    assert nn.build_conv_layer is cnn.build_conv_layer
    with pytest.raises(AttributeError, match='has no attribute'):
        nn.build_everything  # noqa: B018
