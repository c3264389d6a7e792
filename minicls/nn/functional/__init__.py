"""``minicls.nn.functional`` (``F``): the functional form of every layer."""
from .activation import gelu, log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
from .activation import hardsigmoid, hardswish, leaky_relu, relu6, silu  # noqa: F401
from .linear import dropout, linear, one_hot  # noqa: F401
from .loss import (binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,  # noqa: F401
                   nll_loss, smooth_l1_loss)
from .normalization import batch_norm, group_norm, layer_norm, normalize  # noqa: F401
from .conv import conv2d  # noqa: F401
from .attention import scaled_dot_product_attention  # noqa: F401
from .interpolate import interpolate  # noqa: F401
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool2d, max_pool2d,  # noqa: F401
                      pad)
from .pooling import adaptive_avg_pool3d  # noqa: F401
