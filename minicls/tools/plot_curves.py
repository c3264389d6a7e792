"""Draw the training curves of a work dir to a PNG: loss, learning rate, validation accuracy.

    python -m minicls.tools.plot_curves work_dirs/mnist_quickstart [--out curves.png] [--log-loss]

Reads every ``<work_dir>/<timestamp>/vis_data/scalars.json`` (a resumed run writes a new
one; later records replace earlier ones for the same step) and draws three panels with
Pillow: train loss per iteration (and its per-epoch mean), lr per iteration, and every
validation metric per epoch. Training draws ``<work_dir>/curves.png`` by itself (after each
validation and at the end, see ``RunSummaryHook``); this command redraws it, e.g. with the
loss on a log scale.

Explained in tutorials/09_reading_a_training_run.md.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

from minicls.cli import command_line

from ._draw import line_chart, stack

__all__ = ['load_scalars', 'plot_curves', 'main']


def load_scalars(work_dir):
    """``(train, val)``: lists of records sorted by step, one per step (the latest wins)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files and osp.isfile(osp.join(work_dir, 'scalars.json')):
        files = [osp.join(work_dir, 'scalars.json')]
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}: is it the work dir of a '
                                'training run?')
    by_key = {}
    for path in files:
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    by_key[(record.get('mode', 'train'), record.get('step'))] = record
    train = sorted((r for (m, _), r in by_key.items() if m == 'train'), key=lambda r: r['step'])
    val = sorted((r for (m, _), r in by_key.items() if m == 'val'), key=lambda r: r['step'])
    return train, val


def plot_curves(work_dir, out=None, log_loss=False):
    """Write the PNG (atomically: a reader never sees half a file); returns its path."""
    train, val = load_scalars(work_dir)
    out = out or osp.join(work_dir, 'curves.png')
    steps = [r['step'] for r in train]
    loss_keys = [k for k in (train[0] if train else {}) if 'loss' in k]
    series = [(k, steps, [r[k] for r in train]) for k in loss_keys]
    epochs = sorted({r['epoch'] for r in train})
    if epochs and loss_keys:
        last = [max(r['step'] for r in train if r['epoch'] == e) for e in epochs]
        means = [sum(r['loss'] for r in train if r['epoch'] == e)
                 / sum(1 for r in train if r['epoch'] == e) for e in epochs]
        series.append(('epoch mean', last, means))
    panels = [line_chart(series, 'train loss', 'iteration', logy=log_loss, integer_x=True),
              line_chart([('lr', steps, [r['lr'] for r in train])], 'learning rate',
                         'iteration', integer_x=True)]
    metric_keys = [k for k in (val[0] if val else {})
                   if k not in ('mode', 'epoch', 'iter', 'step', 'time', 'data_time')]
    vseries = [(k, [r['step'] for r in val], [r[k] for r in val]) for k in metric_keys]
    title = 'validation ' + (f'(last: {", ".join(f"{k} {val[-1][k]:.2f}" for k in metric_keys)})'
                             if val else '')
    panels.append(line_chart(vseries, title, 'epoch', integer_x=True))
    tmp = f'{out}.tmp{os.getpid()}'
    try:
        stack(panels, columns=1).save(tmp, format='PNG')
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return out


@command_line
def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m minicls.tools.plot_curves',
                                     description='Draw loss / lr / accuracy curves to a PNG.')
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='PNG path (default: <work_dir>/curves.png)')
    parser.add_argument('--log-loss', action='store_true', help='draw the loss on a log scale')
    args = parser.parse_args(argv)
    print(plot_curves(args.work_dir, args.out, log_loss=args.log_loss))
    return 0


if __name__ == '__main__':
    sys.exit(main())
