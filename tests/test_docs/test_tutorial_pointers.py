"""The code's docstrings point learners to the tutorial that explains it ("Explained in
tutorials/05_convolution.md"): every such pointer must name a tutorial that exists, and the
code each chapter explains must point to it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
POINTER = re.compile(r'tutorials/(\d\d_[\w-]+\.md)')
# the main code of a chapter -> the chapter (each of these files must name it)
EXPLAINED = {
    'minicls/nn/functional/conv.py': '05_convolution.md',
    'minicls/nn/functional/im2col.py': '05_convolution.md',
    'minicls/nn/functional/winograd.py': '14_winograd.md',
    'minicls/nn/functional/normalization.py': '06_batchnorm_and_init.md',
    'minicls/nn/modules/batchnorm.py': '06_batchnorm_and_init.md',
    'minicls/nn/init.py': '06_batchnorm_and_init.md',
    'minicls/engine/optim/sgd.py': '07_optimizers_and_schedules.md',
    'minicls/engine/optim/adam.py': '07_optimizers_and_schedules.md',
    'minicls/engine/optim/builder.py': '07_optimizers_and_schedules.md',
    'minicls/engine/schedulers/param_scheduler.py': '07_optimizers_and_schedules.md',
}


def test_every_pointer_names_an_existing_tutorial():
    broken = [f'{path.relative_to(ROOT)}: tutorials/{name}'
              for path in sorted((ROOT / 'minicls').rglob('*.py'))
              for name in POINTER.findall(path.read_text())
              if not (ROOT / 'tutorials' / name).is_file()]
    assert not broken, f'docstrings point to tutorials that do not exist: {broken}'


def test_explained_code_points_to_its_chapter():
    missing = [f'{path} -> {name}' for path, name in EXPLAINED.items()
               if f'tutorials/{name}' not in (ROOT / path).read_text()]
    assert not missing, f'these files do not point to the chapter that explains them: {missing}'
