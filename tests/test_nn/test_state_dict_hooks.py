"""``Module._register_load_state_dict_pre_hook``: torch's hook signature, runs before the
module's own entries load, may rewrite the (private copy of the) state dict, removable."""
import numpy as np

from minicls import nn


def test_pre_hook_rewrites_entries_before_loading():
    outer = nn.Sequential(nn.Linear(2, 3))
    calls = []

    def widen(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
              error_msgs):
        calls.append(prefix)
        key = prefix + 'bias'
        state_dict[key] = np.concatenate([state_dict[key], [7.0]])  # (2,) -> (3,)

    handle = outer[0]._register_load_state_dict_pre_hook(widen)
    state = {'0.weight': np.ones((3, 2)), '0.bias': np.array([1.0, 2.0])}
    outer.load_state_dict(state)
    assert calls == ['0.']
    assert outer[0].bias.numpy().tolist() == [1.0, 2.0, 7.0]
    assert state['0.bias'].shape == (2, )  # the caller's dict is untouched
    handle.remove()
    try:
        outer.load_state_dict(state)
    except RuntimeError as err:
        assert 'size mismatch for 0.bias' in str(err)
    else:
        raise AssertionError('without the hook the (2,) bias must not load')
