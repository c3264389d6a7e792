"""``python -m minicls.train [CONFIG] [options]``: train a model from a config file.

Without CONFIG it trains the quickstart (a small ResNet on the MNIST subset shipped with
minicls). Options as mmpretrain's ``tools/train.py``::

    python -m minicls.train minicls/configs/resnet/resnet18_8xb16_cifar10.py \\
        --work-dir work_dirs/r18 --cfg-options train_dataloader.batch_size=128 --device cuda
    python -m minicls.train CONFIG --resume            # continue from work_dir/last_checkpoint
    python -m minicls.train CONFIG --resume epoch_3.npz
    mpiexec -n 4 python -m minicls.train CONFIG --launcher mpi   # 4 data-parallel ranks
"""
import sys

import minicls.distributed

from minicls.cli import add_launcher_argument, command_line, configs_help, make_parser
from minicls.config import Config, DictAction
from minicls.config.cfg_options import check_option_types
from minicls.config.errors import ConfigError
from minicls.memory import keep_freed_memory

EXAMPLES = """examples:
  python -m minicls.train                        # the quickstart: MNIST, a few minutes on a CPU
  python -m minicls.train resnet_small_cpu_cifar10 --cfg-options train_cfg.max_epochs=1
  python -m minicls.train my_config.py --work-dir work_dirs/mine --device cuda
  python -m minicls.train my_config.py --resume  # go on from work_dir/last_checkpoint
  mpiexec -n 2 python -m minicls.train my_config.py --launcher mpi  # 2 ranks
  then: python -m minicls.test work_dirs/mine/epoch_N.npz

"""


def parse_args(argv=None):
    parser = make_parser('python -m minicls.train', 'Train a classifier from a config file.',
                         EXAMPLES + configs_help())
    parser.add_argument('config', nargs='?', default=None,
                        help='config file or shipped config name (default: the MNIST quickstart)')
    parser.add_argument('--work-dir', help='where to save logs and checkpoints '
                                           '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the latest checkpoint in the work dir, or from the '
                             'checkpoint given')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='override config settings, e.g. train_cfg.max_epochs=3 '
                             'optim_wrapper.optimizer.lr=0.05')
    parser.add_argument('--device', default=None, help="'cpu' (default) or 'cuda'")
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by batch size / auto_scale_lr.base_batch_size')
    add_launcher_argument(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    """Apply the command-line options to ``cfg`` (as mmpretrain's tools/train.py)."""
    if args.cfg_options:
        cfg.merge_from_dict(check_option_types(cfg, args.cfg_options))
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.device is not None:
        cfg.device = args.device
    if args.seed is not None:
        randomness = dict(cfg.get('randomness') or {})
        randomness['seed'] = args.seed
        cfg.randomness = randomness
    if args.no_validate:
        for key in ('val_dataloader', 'val_evaluator', 'val_cfg'):
            cfg[key] = None
    if args.auto_scale_lr:
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            raise ConfigError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) '
                              'in the config')
        cfg.auto_scale_lr = dict(cfg.auto_scale_lr, enable=True)
    return cfg


@command_line
def main(argv=None):
    args = parse_args(argv)
    keep_freed_memory()   # no page faults for every step's arrays (minicls/memory.py)
    from minicls.engine.distributed import launch
    launch(args.launcher)  # --launcher mpi: join the other ranks (minicls/engine/distributed.py)
    from minicls.configs import QUICKSTART, find_config
    path = find_config(args.config) if args.config else QUICKSTART
    cfg = merge_args(Config.fromfile(path), args)
    from minicls.engine.runner import Runner
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    except FloatingPointError as err:  # CheckInvalidLossHook: a NaN/inf loss stopped training
        runner.logger.error(str(err))
        minicls.distributed.abort(1)  # under mpiexec: the other ranks stop too
        return 1
    return 130 if runner.interrupted else 0


if __name__ == '__main__':
    sys.exit(main())
