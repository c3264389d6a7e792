"""``python -m minicls.test [CONFIG] CHECKPOINT [--out FILE] [--tta]``: evaluate a trained model.

Without CONFIG the config saved in the checkpoint is used (``meta['cfg']``: the config of the
training run, with its ``--cfg-options``). Prints the metrics (``Epoch(test) [len/len]
accuracy/top1: ...``). With ``--out preds.json`` also writes one record per image (index,
path, true label, predicted label and scores), which
``python -m minicls.tools.confusion_matrix preds.json`` turns into a picture.

``mpiexec -n 4 python -m minicls.test CONFIG CHECKPOINT --launcher mpi`` evaluates on 4
data-parallel ranks, as mmpretrain's ``tools/dist_test.sh``: each rank predicts its shard of
the test set, the runner gathers the predictions (each image once, in the data set's order)
so the metrics are those of one process, and rank 0 alone prints them and writes ``--out``.
"""
import json
import os.path as osp
import sys

import numpy as np

from minicls import distributed as dist
from minicls.cli import (add_launcher_argument, command_line, configs_help, load_config,
                         make_parser)
from minicls.config import DictAction
from minicls.config.cfg_options import check_option_types
from minicls.engine.hooks import Hook
from minicls.memory import keep_freed_memory

EXAMPLES = """examples:
  python -m minicls.test work_dirs/mnist_quickstart/epoch_12.npz   # the config saved in it
  python -m minicls.test mnist_quickstart work_dirs/mnist_quickstart/epoch_12.npz
  python -m minicls.test my_config.py epoch_18.npz --tta --out preds.json
  mpiexec -n 2 python -m minicls.test my_config.py epoch_18.npz --launcher mpi  # 2 ranks
  then: python -m minicls.tools.confusion_matrix preds.json

"""


class _CollectPredictions(Hook):
    """Keep every test prediction (used by ``--out``)."""

    priority = 'LOWEST'

    def __init__(self):
        self.records = []

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from minicls.backend import to_numpy
        scores = to_numpy(outputs['pred_score'].data)
        labels = to_numpy(outputs['pred_label'].data)
        gts = np.asarray(data_batch['gt_label'])
        idx = np.asarray(data_batch.get('sample_idx', np.full(len(labels), -1)))
        paths = data_batch.get('img_path') or [None] * len(labels)
        for i in range(len(labels)):
            self.records.append(dict(sample_idx=int(idx[i]), img_path=paths[i],
                                     gt_label=int(gts[i]), pred_label=int(labels[i]),
                                     pred_score=float(scores[i, labels[i]]),
                                     pred_scores=[round(float(s), 6) for s in scores[i]]))


@command_line
def main(argv=None):
    parser = make_parser('python -m minicls.test', 'Test a checkpoint on the test data set.',
                         EXAMPLES + configs_help())
    parser.add_argument('config', help='config file or shipped config name; leave it out to '
                                       'use the config saved in the checkpoint')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (.npz) or .pth weights')
    parser.add_argument('--out', help='write per-image predictions and metrics (JSON)')
    parser.add_argument('--work-dir', help='where to write the test log (default: the '
                                           "config's work_dir, else work_dirs/<config name> or "
                                           "the checkpoint's folder)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE', help='override config settings, e.g. '
                                                  'test_dataloader.batch_size=64')
    parser.add_argument('--device', default=None, help="'cpu' (default) or 'cuda'")
    parser.add_argument('--tta', action='store_true',
                        help='flip test-time augmentation: average the scores of each image and '
                             'its mirror image (AverageClsScoreTTA), as mmpretrain\'s --tta')
    add_launcher_argument(parser)
    parser.usage = '%(prog)s [CONFIG] CHECKPOINT [options]'
    args = parser.parse_args(argv)
    from minicls.engine import distributed as ddp
    ddp.launch(args.launcher)  # --launcher mpi: join the other ranks; an error ends them all
    if args.checkpoint is None:  # `test CHECKPOINT`: the config comes from the checkpoint
        if args.config.endswith(('.py', '.json')):
            parser.error(f'which checkpoint should {args.config} test? Give it after the config')
        args.config, args.checkpoint = None, args.config
    if not osp.isfile(args.checkpoint):  # before a work dir is made for the test log
        raise FileNotFoundError(f'checkpoint not found: {osp.abspath(args.checkpoint)}')
    keep_freed_memory()   # no page faults for every step's arrays (minicls/memory.py)

    cfg = load_config(args.config, args.checkpoint)
    if args.cfg_options:
        cfg.merge_from_dict(check_option_types(cfg, args.cfg_options))
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = (osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
                        if args.config else osp.dirname(osp.abspath(args.checkpoint)))
    if args.device:
        cfg.device = args.device
    cfg.load_from = args.checkpoint
    if cfg.get('test_dataloader') is None:
        cfg.test_dataloader = cfg.get('val_dataloader')
        cfg.test_evaluator = cfg.get('val_evaluator')

    from minicls.engine.runner import Runner
    runner = Runner.from_cfg(cfg)
    if args.tta:
        from minicls.registry import MODELS
        # load_from still loads: the wrapper hands load_state_dict on to the classifier;
        # the config's tta_model (if any) chooses the views
        tta_cfg = dict(cfg.get('tta_model') or dict(type='AverageClsScoreTTA'))
        # around the classifier itself: testing needs no DistributedDataParallel, and its
        # state_dict keys would not be the checkpoint's
        runner.model = MODELS.build(dict(tta_cfg, module=ddp.unwrap(runner.model)))
    collector = _CollectPredictions()
    if args.out:
        runner.register_hook(collector)
    metrics = runner.test()
    if args.out:
        # several ranks: every rank's records, in the data set's order, without the padding
        records = ddp.gather_results(collector.records, len(runner.test_dataloader.dataset))
        if dist.get_rank() != 0:
            return 0
        classes = (runner.dataset_meta or {}).get('classes')
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(metrics=metrics, classes=list(classes) if classes else None,
                           checkpoint=args.checkpoint, predictions=records), f)
        print(f'predictions of {len(records)} images written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
