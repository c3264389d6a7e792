"""AverageClsScoreTTA with translations: the views and their averaged scores."""
import numpy as np
import pytest

import minicls
from minicls.models import AverageClsScoreTTA
from minicls.models.tta.score_tta import translate


def test_translate_reflects_the_border():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    down_right = translate(x, 1, 1)[0, 0]
    np.testing.assert_array_equal(down_right, [[5, 4, 5, 6], [1, 0, 1, 2], [5, 4, 5, 6],
                                               [9, 8, 9, 10]])
    np.testing.assert_array_equal(translate(x, -1, 0)[0, 0, :3], x[0, 0, 1:])
    np.testing.assert_array_equal(translate(x, -1, 0)[0, 0, 3], x[0, 0, 2])   # mirrored
    np.testing.assert_array_equal(translate(x, 0, 0), x)


class Scores:
    """A stand-in classifier whose scores are the softmax of the first row of pixels."""

    def predict(self, inputs):
        logits = inputs.data[:, 0, 0, :3]
        e = np.exp(logits - logits.max(1, keepdims=True))
        return {'pred_score': minicls.tensor(e / e.sum(1, keepdims=True))}


def test_six_views_average():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1, 4, 4)).astype(np.float32)
    shifts = ((0, 0), (1, 1), (-1, -1))
    tta = AverageClsScoreTTA(Scores(), shifts=shifts)
    views = tta.views(x)
    assert len(views) == 6
    expected = []
    for dy, dx in shifts:
        moved = translate(x, dy, dx)
        expected += [moved, moved[..., ::-1]]
    for view, want in zip(views, expected):
        np.testing.assert_array_equal(view, want)
    out = tta.predict(minicls.tensor(x))
    mean = np.mean([Scores().predict(minicls.tensor(v))['pred_score'].numpy() for v in expected],
                   axis=0)
    np.testing.assert_allclose(out['pred_score'].numpy(), mean, rtol=1e-6)
    np.testing.assert_array_equal(out['pred_label'].numpy(), mean.argmax(1))
    assert len(AverageClsScoreTTA(Scores(), flip=False, shifts=shifts).views(x)) == 3
    assert len(AverageClsScoreTTA(Scores()).views(x)) == 2          # the default: flip only
    with pytest.raises(ValueError, match='at least one'):
        AverageClsScoreTTA(Scores(), shifts=())
