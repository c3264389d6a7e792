"""``RunSummaryHook``: what a finished run gave you, and ``curves.png`` in the work dir.

At the end of training it logs::

    Done in 0:03:05. accuracy/top1: best 98.55 at epoch 12, last 98.50 at epoch 12.
      best checkpoint: /abs/work_dir/best_accuracy_top1_epoch_12.npz
      last checkpoint: /abs/work_dir/epoch_12.npz
      curves:          /abs/work_dir/curves.png
    Next:
      python -m minicls.test /abs/work_dir/cfg.py /abs/.../best.npz --out /abs/work_dir/preds.json
      python -m minicls.tools.confusion_matrix /abs/work_dir/preds.json --normalize
      python -m minicls.predict IMAGE_OR_FOLDER --config /abs/work_dir/cfg.py --checkpoint ...

The validation figures come from the run's ``scalars.json`` files (the same numbers as the
curves), so a resumed run reports all its epochs.
"""
import logging
import os.path as osp
import time

from minicls.registry import HOOKS

from ..logger import format_eta
from .hook import Hook


@HOOKS.register_module()
class RunSummaryHook(Hook):
    """Draw ``<work_dir>/curves.png`` after each validation and at the end of training, and
    log a summary and the next commands when training ends.

    One of the runner's default hooks (key ``summary``); ``default_hooks=dict(summary=None)``
    turns it off, ``default_hooks=dict(summary=dict(log_loss=True))`` changes an option.

    Args:
        draw_curves (bool): write ``curves.png`` (see ``minicls.tools.plot_curves``).
        log_loss (bool): draw the loss on a log scale.
    """

    priority = 'LOWEST'

    def __init__(self, draw_curves=True, log_loss=False, **kwargs):
        self.draw_curves = draw_curves
        self.log_loss = log_loss
        self._start = time.perf_counter()

    def _curves(self, runner):
        if not self.draw_curves:
            return None
        from minicls.tools.plot_curves import plot_curves
        try:
            return plot_curves(runner.work_dir, log_loss=self.log_loss)
        except Exception as err:  # a picture must never stop a run; say why there is none
            runner.logger.warning(f'curves.png not drawn: {type(err).__name__}: {err}')
            return None

    def before_train(self, runner):
        self._start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None):
        self._curves(runner)

    def after_train(self, runner):
        curves = self._curves(runner)
        for line in summary_lines(runner, time.perf_counter() - self._start, curves):
            runner.logger.info(line)


def _val_records(work_dir):
    from minicls.tools.plot_curves import load_scalars
    try:
        return load_scalars(work_dir)[1]
    except (FileNotFoundError, ValueError) as err:
        logging.getLogger('minicls').debug(f'no validation records: {err}')
        return []


def summary_lines(runner, seconds, curves=None):
    """The summary as a list of lines (see the module docstring)."""
    work_dir = runner.work_dir
    val = [r for r in _val_records(work_dir) if r.get('epoch', 0) <= runner.max_epochs]
    keys = [k for k in (val[-1] if val else {})
            if k not in ('mode', 'epoch', 'iter', 'step', 'time', 'data_time')
            and isinstance(val[-1][k], (int, float))]
    key = 'accuracy/top1' if 'accuracy/top1' in keys else (keys[0] if keys else None)
    state = 'Interrupted' if runner.interrupted else 'Done'
    head = f'{state} after epoch {runner.epoch}/{runner.max_epochs}, {format_eta(seconds)} ' \
           'in this session.'
    if key:
        best = max(val, key=lambda r: r[key]) if 'loss' not in key else \
            min(val, key=lambda r: r[key])
        head += (f' {key}: best {best[key]:.2f} at epoch {best["epoch"]}, last '
                 f'{val[-1][key]:.2f} at epoch {val[-1]["epoch"]}.')
    else:
        head += ' No validation ran.'
    lines = [head]
    best_ckpt = runner.message_hub.get('best_ckpt')
    last_ckpt = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            last_ckpt = f.read().strip() or None
    if best_ckpt and osp.isfile(best_ckpt):
        lines.append(f'  best checkpoint: {best_ckpt}')
    elif key:
        lines.append("  best checkpoint: not kept (set default_hooks.checkpoint.save_best="
                     "'auto' to keep it)")
    lines.append(f'  last checkpoint: {last_ckpt or "none saved"}')
    if curves:
        lines.append(f'  curves:          {curves}')
    ckpt = best_ckpt if best_ckpt and osp.isfile(best_ckpt) else last_ckpt
    name = osp.basename(runner.cfg.filename) if runner.cfg.filename else 'config.py'
    config = osp.join(work_dir, name if name.endswith('.py') else 'config.py')
    if runner.interrupted:
        lines += ['Next:', f'  python -m minicls.train {config} --resume   # continue']
    elif ckpt:
        preds = osp.join(work_dir, 'preds.json')
        lines += ['Next:',
                  f'  python -m minicls.test {config} {ckpt} --out {preds}',
                  f'  python -m minicls.tools.confusion_matrix {preds} --normalize',
                  f'  python -m minicls.predict IMAGE_OR_FOLDER --config {config} '
                  f'--checkpoint {ckpt}']
    return lines
