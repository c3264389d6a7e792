"""Install minicls: ``pip install .`` or ``pip install -e ".[test]"`` (extras: gpu, dist)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = re.search(r"__version__ = '([^']+)'",
                    (here / 'minicls' / '__init__.py').read_text()).group(1)

setup(
    name='minicls',
    version=version,
    description='A from-scratch NumPy/CuPy deep-learning framework that re-creates '
                'an mmpretrain-style image-classification toolbox, built to be read.',
    long_description=(here / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['minicls', 'minicls.*']),
    include_package_data=True,
    package_data={'minicls': ['configs/**/*.py', 'datasets/data/**/*', 'datasets/data/*']},
    install_requires=['numpy>=2', 'pillow', 'tqdm'],
    extras_require={
        'test': ['pytest'],
        # Pick the wheel that matches your CUDA toolkit, e.g. cupy-cuda12x or cupy-cuda11x.
        'gpu': ['cupy-cuda12x'],
        # Data-parallel training: mpiexec -n N python -m minicls.train CONFIG --launcher mpi.
        # On a cluster, use its MPI instead of the mpich wheel (pip install mpi4py).
        'dist': ['mpi4py>=4', 'mpich'],
    },
    entry_points={'console_scripts': [
        'minicls-train=minicls.train:main',
        'minicls-test=minicls.test:main',
        'minicls-predict=minicls.predict:main',
    ]},
)
