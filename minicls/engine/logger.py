"""Logging for the runner: the text log, the JSON-lines scalar log, and smoothed values.

Text lines look like mmengine's::

    08/07 12:20:57 - minicls - INFO - Epoch(train) [1][ 10/994]  lr: 1.0000e-01  eta: 7:09:02  time: 0.2590  data_time: 0.0298  loss: 4.8993

They go to the terminal (through ``tqdm.write`` so progress bars stay intact) and to
``<work_dir>/<timestamp>/<timestamp>.log``. Numbers also go, one JSON object per line, to
``<work_dir>/<timestamp>/vis_data/scalars.json``, which ``minicls.tools.plot_curves`` reads.

Explained in tutorials/09_reading_a_training_run.md.
"""
import datetime
import json
import logging
import os

__all__ = ['get_logger', 'LogBuffer', 'ScalarWriter', 'format_eta']

LOG_FORMAT = '%(asctime)s - minicls - %(levelname)s - %(message)s'
DATE_FORMAT = '%m/%d %H:%M:%S'


class _TqdmHandler(logging.StreamHandler):
    """Print through ``tqdm.write`` so that log lines do not break a progress bar."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=self.stream)
        except Exception:
            self.handleError(record)


def get_logger(name='minicls', log_file=None, level=logging.INFO):
    """A logger writing to the terminal and (if given) to ``log_file``; one per ``name``."""
    logger = logging.getLogger(name)
    logger.setLevel(level)
    logger.propagate = False
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    for handler in list(logger.handlers):  # a new run: drop the previous run's handlers
        logger.removeHandler(handler)
        handler.close()
    stream = _TqdmHandler()
    stream.setFormatter(formatter)
    logger.addHandler(stream)
    if log_file is not None:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = logging.FileHandler(log_file, mode='a', encoding='utf-8')
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


class LogBuffer:
    """Values collected between two log lines (``loss``, ``time``...), averaged when logged."""

    def __init__(self):
        self.values = {}

    def update(self, values):
        for key, value in values.items():
            self.values.setdefault(key, []).append(float(value))

    def mean(self, key):
        values = self.values.get(key)
        return sum(values) / len(values) if values else None

    def means(self):
        return {k: sum(v) / len(v) for k, v in self.values.items() if v}

    def clear(self):
        self.values = {}

    def state_dict(self):
        return {k: list(v) for k, v in self.values.items()}

    def load_state_dict(self, state):
        self.values = {k: [float(x) for x in v] for k, v in state.items()}


class ScalarWriter:
    """Append one JSON object per call to ``path`` (``scalars.json``, JSON lines)."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def write(self, record):
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record) + '\n')


def format_eta(seconds):
    """``7:09:02`` (or ``1 day, 2:03:04``) for a number of seconds."""
    return str(datetime.timedelta(seconds=int(max(seconds, 0))))
