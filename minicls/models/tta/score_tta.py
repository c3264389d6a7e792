"""``AverageClsScoreTTA``: flip test-time augmentation for a classifier.

The classifier predicts on each test image and on its mirror image (flipped left-right), and
the two softmax scores are averaged: ``pred_score = (p(x) + p(flip(x))) / 2``. A network
trained with random horizontal flips has learnt both views, and their errors are partly
independent, so the average is usually a little more accurate (+0.7 to 0.8 points on the CPU
CIFAR-10 recipe), at twice the cost of testing.

This is what ``python tools/test.py CONFIG CKPT --tta`` does in mmpretrain when the config has
no ``tta_model``/``tta_pipeline``; there the views come from a ``TestTimeAug`` pipeline, here
the wrapper flips the preprocessed batch itself (normalisation is per channel, so flipping before
or after it is the same).

    model = AverageClsScoreTTA(classifier)       # or python -m minicls.test ... --tta
    model(**model.data_preprocessor(batch), mode='predict')

More views: ``shifts=((0, 0), (1, 1), (-1, -1))`` also predicts on the image moved one pixel
down-right and one pixel up-left (the border filled by reflection), each with its mirror:
six views. A config chooses the views for ``--tta`` with ``tta_model = dict(
type='AverageClsScoreTTA', shifts=...)``.
"""
from ...autograd import no_grad
from ...backend import get_array_module
from ...config.errors import ConfigError
from ...registry import MODELS
from ...tensor import Tensor


@MODELS.register_module()
class AverageClsScoreTTA:
    """Wraps a classifier (``module``); only ``mode='predict'`` is augmented. Everything else
    (``data_preprocessor``, ``eval``, ``to``, ``state_dict``...) is the classifier's.

    Args:
        module (Module | dict): the classifier.
        flip (bool): add the mirror image of every view. Defaults to True.
        shifts (Sequence[tuple[int, int]]): ``(down, right)`` pixel translations of the input,
            each a view, the border filled by reflection. Defaults to ``((0, 0),)``.
    """

    def __init__(self, module, flip=True, shifts=((0, 0),)):
        self.module = MODELS.build(module) if isinstance(module, dict) else module
        self.flip = bool(flip)
        self.shifts = [(int(dy), int(dx)) for dy, dx in shifts]
        if not self.shifts:
            raise ConfigError('AverageClsScoreTTA: shifts must hold at least one (dy, dx), '
                              'e.g. ((0, 0),)')

    def __getattr__(self, name):
        return getattr(self.module, name)

    def __call__(self, inputs, targets=None, mode='predict'):
        if mode != 'predict':
            return self.module(inputs, targets, mode=mode)
        return self.predict(inputs, targets)

    def views(self, x):
        """The augmented copies of the ``(N, C, H, W)`` array ``x``."""
        xp = get_array_module(x)
        out = []
        for dy, dx in self.shifts:
            view = translate(x, dy, dx) if (dy, dx) != (0, 0) else x
            out.append(view)
            if self.flip:
                out.append(xp.ascontiguousarray(view[..., ::-1]))   # mirrored
        return out

    def predict(self, inputs, targets=None):
        """``{'pred_score': mean of the views' softmax scores (N, C), 'pred_label': (N,)}``."""
        with no_grad():
            scores = [self.module.predict(Tensor(v))['pred_score'] for v in self.views(inputs.data)]
            score = scores[0]
            for other in scores[1:]:
                score = score + other
            score = score / len(scores)
        return {'pred_score': score, 'pred_label': score.argmax(dim=1)}


def translate(x, dy, dx):
    """``x`` (N, C, H, W) moved ``dy`` pixels down and ``dx`` right; the border reflected:
    ``out[..., i, j] = x[..., i - dy, j - dx]`` inside, mirrored at the edges."""
    xp = get_array_module(x)
    p = max(abs(dy), abs(dx))
    padded = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='reflect')
    h, w = x.shape[-2:]
    return xp.ascontiguousarray(padded[..., p - dy:p - dy + h, p - dx:p - dx + w])
