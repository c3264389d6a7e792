"""``LoggerHook`` (text + JSON-lines logs) and ``ProgressBarHook`` (tqdm bars)."""
import time

from minicls.config.errors import check_number
from minicls.registry import HOOKS

from ..logger import format_eta
from .hook import Hook


def _fmt(value):
    return f'{value:.4f}' if isinstance(value, float) else str(value)


@HOOKS.register_module()
class LoggerHook(Hook):
    """Write a log line every ``interval`` training iterations and after each validation.

    ``Epoch(train) [1][ 10/994]  lr: 1.0000e-01  eta: 0:09:02  time: 0.2590  data_time:
    0.0298  loss: 2.3011`` -- the values are means over the iterations since the last line.
    The same numbers go to ``scalars.json`` (one JSON object per line, with ``mode``,
    ``epoch``, ``iter`` and ``step``).

    Args:
        interval (int): iterations between two lines.
        ignore_last (bool): no line for the last iterations of an epoch that do not fill
            an interval (mmengine's default).
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval=10, ignore_last=True):
        self.interval = check_number(interval, 'LoggerHook: interval', low=1)
        self.ignore_last = ignore_last

    def before_train_epoch(self, runner):
        runner.log_buffer.clear()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        runner.log_buffer.update({k: v for k, v in (outputs or {}).items()})
        n = len(runner.train_dataloader)
        last = batch_idx + 1 == n
        if not (self.every_n_inner_iters(batch_idx, self.interval)
                or (last and not self.ignore_last)):
            return
        lr = runner.optim_wrapper.param_groups[0]['lr']
        means = runner.log_buffer.means()
        runner.log_buffer.clear()
        timing = {k: means.pop(k) for k in ('time', 'data_time') if k in means}
        width = len(str(n))
        parts = [f'Epoch(train) [{runner.epoch + 1}][{batch_idx + 1:>{width}}/{n}]',
                 f'lr: {lr:.4e}', f'eta: {format_eta(getattr(runner, "eta_seconds", 0))}']
        parts += [f'{k}: {v:.4f}' for k, v in timing.items()]
        if runner.memory_mb is not None:
            parts.append(f'memory: {runner.memory_mb()}')
        parts += [f'{k}: {v:.4f}' for k, v in means.items()]
        runner.logger.info('  '.join(parts))
        runner.scalar_writer.write(dict(mode='train', lr=lr, **timing, **means,
                                        epoch=runner.epoch + 1, iter=runner.iter + 1,
                                        step=runner.iter + 1))

    def _eval_line(self, runner, mode, metrics):
        means = runner.log_buffer.means()
        runner.log_buffer.clear()
        loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
        n = len(loader)
        where = f'[{runner.epoch}][{n}/{n}]' if mode == 'val' else f'[{n}/{n}]'
        values = dict(metrics or {})
        values.update({k: means[k] for k in ('data_time', 'time') if k in means})
        runner.logger.info(f'Epoch({mode}) {where}    '
                           + '  '.join(f'{k}: {_fmt(v)}' for k, v in values.items()))
        record = dict(mode=mode, **values)
        if mode == 'val':
            record.update(epoch=runner.epoch, iter=runner.iter, step=runner.epoch)
        runner.scalar_writer.write(record)

    def before_val_epoch(self, runner):
        self._saved = runner.log_buffer.state_dict()  # keep the train window intact
        runner.log_buffer.clear()

    def after_val_epoch(self, runner, metrics=None):
        self._eval_line(runner, 'val', metrics)
        runner.log_buffer.load_state_dict(self._saved)

    def before_test_epoch(self, runner):
        runner.log_buffer.clear()

    def after_test_epoch(self, runner, metrics=None):
        self._eval_line(runner, 'test', metrics)


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """tqdm progress bars for training (loss, lr, img/s) and evaluation epochs.

    On a terminal the bars redraw live. When stderr goes to a file or a pipe (``python -m
    minicls.train ... 2> train.log``, nohup, CI) they are still written, but at most once
    every ``file_interval`` seconds (tqdm's ``mininterval``), in ASCII, and kept when an epoch
    ends, so a log shows the progress without thousands of updates.

    Args:
        disable (bool | None): True hides the bars (None or False shows them).
        file_interval (float): seconds between two updates when stderr is not a terminal.
    """

    priority = 'LOWEST'

    def __init__(self, disable=None, file_interval=30.0):
        self.disable = bool(disable)
        self.file_interval = check_number(file_interval, 'ProgressBarHook: file_interval',
                                          float, low=0)
        self._bar = None

    def _open(self, total, desc, initial=0):
        import sys

        from tqdm import tqdm
        self._close()
        tty = hasattr(sys.stderr, 'isatty') and sys.stderr.isatty()
        self._bar = tqdm(total=total, desc=desc, initial=initial, leave=not tty,
                         disable=self.disable, dynamic_ncols=tty, ncols=None if tty else 100,
                         mininterval=0.1 if tty else self.file_interval, ascii=not tty,
                         file=sys.stderr, unit='it')
        self._images, self._t0 = 0, time.perf_counter()

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _advance(self, data_batch, **postfix):
        if self._bar is None:
            return
        if data_batch is not None and hasattr(data_batch.get('inputs'), 'shape'):
            self._images += int(data_batch['inputs'].shape[0])
        rate = self._images / max(time.perf_counter() - self._t0, 1e-9)
        self._bar.set_postfix(**postfix, **{'img/s': f'{rate:.0f}'}, refresh=False)
        self._bar.update(1)

    def before_train_epoch(self, runner):
        self._open(len(runner.train_dataloader), f'Epoch {runner.epoch + 1}/{runner.max_epochs}',
                   initial=runner.start_batch)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        loss = (outputs or {}).get('loss')
        lr = runner.optim_wrapper.param_groups[0]['lr']
        self._advance(data_batch, loss=f'{loss:.4f}' if loss is not None else '-',
                      lr=f'{lr:.2e}')

    def after_train_epoch(self, runner):
        self._close()

    def before_val_epoch(self, runner):
        self._open(len(runner.val_dataloader), 'val')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._advance(data_batch)

    def after_val_epoch(self, runner, metrics=None):
        self._close()

    def before_test_epoch(self, runner):
        self._open(len(runner.test_dataloader), 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._advance(data_batch)

    def after_test_epoch(self, runner, metrics=None):
        self._close()

    def after_run(self, runner):
        self._close()
