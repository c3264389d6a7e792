"""What every command line does with a mistake: one line on stderr and exit code 2.

``python -m minicls.train``, ``test``, ``predict`` and the tools write ``main(argv=None)``
under the ``@command_line`` decorator. When ``main`` raises one of the ``user_errors()`` -- an
error that says what the user must change (a config, a path, an option, a file) -- the
decorator prints ``error: <message>`` to stderr and returns 2, as argparse does for a bad
option. Any other exception is a bug in minicls, and shows its traceback as usual.
``--debug`` (or the environment variable ``MINICLS_DEBUG=1``) shows the traceback of user
errors too.
"""
import argparse
import functools
import glob
import os
import os.path as osp
import sys

__all__ = ['command_line', 'make_parser', 'add_launcher_argument', 'user_errors', 'configs_help',
           'load_config']


def user_errors():
    """The exception types that are the user's to fix (the others are bugs in minicls)."""
    from minicls.config.errors import ConfigError          # config keys, values, --cfg-options
    from minicls.engine.checkpoint import CheckpointError  # unreadable or mismatched checkpoint
    from minicls.registry.registry import RegistryKeyError  # type='...' that is not registered
    # OSError: files that are missing, unreadable or not images; SyntaxError: in a config file
    return (ConfigError, CheckpointError, RegistryKeyError, OSError, SyntaxError)


def _message(err):
    if isinstance(err, SyntaxError):  # its str() names the file without its folder
        return f'{err.filename}, line {err.lineno}: {err.msg}'
    return str(err)


def _debug(argv):
    return '--debug' in argv or os.environ.get('MINICLS_DEBUG', '') not in ('', '0')


def command_line(main):
    """Decorate ``main(argv=None)``: a user error becomes one line on stderr and exit code 2.

    ``--debug`` is taken out of ``argv`` here (``make_parser`` lists it in ``--help``).
    """
    @functools.wraps(main)
    def wrapper(argv=None):
        argv = list(sys.argv[1:] if argv is None else argv)
        debug = _debug(argv)
        try:
            return main([arg for arg in argv if arg != '--debug'])
        except user_errors() as err:
            if debug:
                raise
            from minicls import distributed as dist
            rank = f'[rank {dist.get_rank()}] ' if dist.get_world_size() > 1 else ''
            print(f'{rank}error: {_message(err)}', file=sys.stderr)
            dist.abort(2)  # under mpiexec: the other ranks stop too
            return 2
    return wrapper


def make_parser(prog, description, epilog=None):
    """An ``ArgumentParser`` that keeps the layout of ``epilog`` and lists ``--debug``."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback behind an error message (or set '
                             'MINICLS_DEBUG=1)')
    return parser


def add_launcher_argument(parser):
    """``--launcher none|mpi`` (default ``$MINICLS_LAUNCHER``), as mmpretrain's train and test
    tools; ``minicls.engine.distributed.launch(args.launcher)`` acts on it."""
    parser.add_argument('--launcher', default=os.environ.get('MINICLS_LAUNCHER', 'none'),
                        help="'none' (one process) or 'mpi' (data-parallel ranks started by "
                             'mpiexec; pip install -e ".[dist]"); default: $MINICLS_LAUNCHER '
                             "or 'none'")


def configs_help():
    """The shipped configs, one per line, for the end of ``--help``."""
    from minicls.configs import CONFIG_ROOT
    paths = sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
                   if '_base_' not in p and not p.endswith('__init__.py'))
    names = [osp.relpath(p, CONFIG_ROOT)[:-3] for p in paths]
    return (f'shipped configs, in {CONFIG_ROOT} (copy one to start your own;\n'
            'to run one, its name is enough: resnet_small_cpu_cifar10):\n'
            + ''.join(f'  {name}\n' for name in names))


def load_config(config, checkpoint=None):
    """The config ``test`` and ``predict`` use: the file or shipped name ``config``, or, when
    it is None, the config saved in the checkpoint (``meta['cfg']``, read without running
    code)."""
    from minicls.config import Config
    from minicls.configs import find_config
    if config is not None:
        return Config.fromfile(find_config(config))
    from minicls.engine.checkpoint import CheckpointError, load_checkpoint
    if not str(checkpoint).endswith('.npz'):
        raise CheckpointError(f'{checkpoint} is not a minicls checkpoint (.npz), so it holds no '
                              'config: give the config file as well')
    text = (load_checkpoint(checkpoint).get('meta') or {}).get('cfg')
    if not text:
        raise CheckpointError(f'{checkpoint} holds no config (meta["cfg"]): give the config '
                              'file as well')
    return Config.from_pretty_text(text)
