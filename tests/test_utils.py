"""minicls.utils: the one int-to-pair helper that layers and transforms share."""
import numpy as np
import pytest

from minicls.utils import to_2tuple


def test_to_2tuple_makes_pairs_of_ints():
    assert to_2tuple(3) == (3, 3) and to_2tuple(np.int64(2)) == (2, 2)
    assert to_2tuple((2, 3)) == (2, 3) and to_2tuple([4, 5]) == (4, 5)
    assert to_2tuple([7]) == (7, 7)  # a one-element list, as PyTorch's pooling accepts
    assert all(type(v) is int for v in to_2tuple((np.int32(1), 2)))


@pytest.mark.parametrize('bad', [(1, 2, 3), (), 2.5, (2.0, 3), True, 'ab', None])
def test_to_2tuple_errors_name_the_argument(bad):
    with pytest.raises(TypeError, match=r'^stride must be an int or a pair of ints, but got'):
        to_2tuple(bad, 'stride')


def test_layers_functions_and_transforms_share_it():
    from minicls import nn
    from minicls.datasets.transforms import CenterCrop
    with pytest.raises(TypeError, match='kernel_size must be an int or a pair'):
        nn.Conv2d(1, 1, 2.5)  # was silently truncated to 2
    with pytest.raises(TypeError, match='stride must be an int or a pair'):
        nn.functional.max_pool2d(nn.Parameter(np.zeros((1, 1, 4, 4), 'float32')), 2, (1, 2, 3))
    with pytest.raises(TypeError, match='crop_size must be an int or a pair'):
        CenterCrop(crop_size=(1, 2, 3))
    assert nn.Conv2d(1, 1, [3]).kernel_size == (3, 3)
