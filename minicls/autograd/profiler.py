"""A per-op profiler: where does the time of a training step go?

    with minicls.autograd.profile() as prof:
        loss = model(x).sum(); loss.backward()
    print(prof.table())

Every ``Function`` reports the time of its forward and of its backward, by op class. On a GPU
the timer synchronises first, so the figures are the device's, not just the launch cost.
"""
import time
from collections import defaultdict

from .. import backend

_current = None


def current():
    """The active profiler, or None (the common case: then ops pay one `if`)."""
    return _current


class profile:
    def __init__(self):
        self.times = defaultdict(float)   # (op name, 'forward'|'backward') -> seconds
        self.calls = defaultdict(int)

    def __enter__(self):
        global _current
        self._previous, _current = _current, self
        return self

    def __exit__(self, *exc):
        global _current
        _current = self._previous
        return False

    @staticmethod
    def clock():
        if backend.cupy is not None:
            backend.cupy.cuda.Device().synchronize()
        return time.perf_counter()

    def record(self, op, phase, start):
        key = (op, phase)
        self.times[key] += self.clock() - start
        self.calls[key] += 1

    def table(self, top=20):
        """A text table of the ops, most expensive first (forward + backward)."""
        totals = defaultdict(float)
        for (op, _), seconds in self.times.items():
            totals[op] += seconds
        grand = sum(totals.values()) or 1.0
        lines = [f'{"op":<18}{"forward ms":>12}{"backward ms":>13}{"calls":>8}{"share":>8}']
        for op in sorted(totals, key=totals.get, reverse=True)[:top]:
            fwd, bwd = self.times[(op, 'forward')], self.times[(op, 'backward')]
            lines.append(f'{op:<18}{fwd * 1e3:>12.1f}{bwd * 1e3:>13.1f}'
                         f'{self.calls[(op, "forward")]:>8}{totals[op] / grand:>8.1%}')
        lines.append(f'{"total":<18}{grand * 1e3:>12.1f} ms')
        return '\n'.join(lines)
