"""A pipeline: :class:`Compose` runs a list of transforms one after the other."""
from minicls.registry import TRANSFORMS

__all__ = ['Compose']


@TRANSFORMS.register_module()
class Compose:
    """Build each transform from its config (or take it as is, if callable) and chain them.

    ``Compose([dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')])(results)``.
    An error inside a step is re-raised as it was, with a note naming the step.
    """

    def __init__(self, transforms=()):
        if transforms is None:
            transforms = ()
        if isinstance(transforms, dict) or callable(transforms):
            transforms = [transforms]
        self.transforms = []
        for i, t in enumerate(transforms):
            if isinstance(t, dict):
                t = TRANSFORMS.build(t)
            elif not callable(t):
                raise TypeError(f'pipeline step {i} must be a config dict or a callable, '
                                f'but got {type(t).__name__}')
            self.transforms.append(t)

    def __call__(self, results):
        for i, t in enumerate(self.transforms):
            try:
                out = t(results)
            except Exception as err:
                if hasattr(err, 'add_note'):  # Python 3.11+
                    err.add_note(f'(in pipeline step {i}: {t!r})')
                raise
            if out is None:
                raise TypeError(f'pipeline step {i} ({t!r}) returned None; a transform must '
                                'return the results dict')
            results = out
        return results

    def __len__(self):
        return len(self.transforms)

    def __repr__(self):
        steps = ''.join(f'\n    {t!r},' for t in self.transforms)
        return f'Compose([{steps}\n])' if steps else 'Compose([])'
