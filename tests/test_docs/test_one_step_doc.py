"""docs/one_step.md, the walk through one training step: every file and function it names
exists, so the walk cannot silently go stale when code moves."""
import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, 'docs', 'one_step.md')
CITATION = re.compile(r'`([\w/]+\.py)(?:::([\w.]+))?`')


def citations(text):
    """(path, dotted name or None) for every `path.py` or `path.py::Name.attr` in ``text``."""
    return [(m.group(1), m.group(2)) for m in CITATION.finditer(text)]


def defines(path, dotted):
    """Whether ``path`` defines ``dotted`` (a top-level class, function or assignment, then
    members of a class: ``Runner.train_step``)."""
    body = ast.parse(open(os.path.join(ROOT, path), encoding='utf-8').read()).body
    for part in dotted.split('.'):
        found = None
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == part:
                found = node
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == part for t in node.targets):
                found = node
        if found is None:
            return False
        body = getattr(found, 'body', [])
    return True


def test_every_cited_file_and_name_exists():
    text = open(DOC, encoding='utf-8').read()
    cited = citations(text)
    assert len(cited) > 40
    missing = [f'{path}::{name}' if name else path for path, name in cited
               if not os.path.isfile(os.path.join(ROOT, path))
               or (name and not defines(path, name))]
    assert not missing, f'docs/one_step.md cites what does not exist: {missing}'


def test_the_walk_covers_the_whole_step_in_order():
    """The stops the walk promises, in the order a step runs them."""
    text = open(DOC, encoding='utf-8').read()
    stops = ['minicls/train.py::main', 'runner.py::Runner.train_step',
             'data_preprocessor.py::ClsDataPreprocessor.forward',
             'resnet_cifar.py::ResNet_CIFAR.forward', 'nn/modules/conv.py::Conv2d.forward',
             'functional/conv.py::Conv2d.forward', 'cross_entropy_loss.py::CrossEntropyLoss',
             'minicls/autograd/engine.py::backward', 'functional/conv.py::Conv2d.backward',
             'sgd.py::SGD.step']
    positions = [text.find(stop) for stop in stops]
    assert -1 not in positions, [s for s, p in zip(stops, positions) if p == -1]
    assert positions == sorted(positions)


def test_relative_links_resolve_and_the_readme_links_the_walk():
    text = open(DOC, encoding='utf-8').read()
    for link in re.findall(r'\]\(([^)#]+)\)', text):
        assert os.path.exists(os.path.join(ROOT, 'docs', link)), link
    assert '(docs/one_step.md)' in open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()


def test_the_checker_finds_a_stale_name():
    assert defines('minicls/engine/runner.py', 'Runner.train_step')
    assert not defines('minicls/engine/runner.py', 'Runner.no_such_method')
    assert citations('see `a/b.py::C.d` and `e.py`') == [('a/b.py', 'C.d'), ('e.py', None)]
