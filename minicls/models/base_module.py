"""``BaseModule``: an ``nn.Module`` that knows how to initialise its own weights.

A freshly built layer has PyTorch's default init. mmpretrain models instead describe the
init they want in ``init_cfg`` and apply it when ``init_weights()`` is called (the training
loop does that once, before the first step)::

    init_cfg = [dict(type='Kaiming', layer='Conv2d'),                  # every conv
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]

Each dict names an initialiser (``type``) and the layers it applies to (``layer``: class
names, matched against the class of every sub-module *and its base classes*, so
``'_BatchNorm'`` matches ``BatchNorm1d`` and ``BatchNorm2d``). ``override=dict(name='fc', ...)``
applies a different init to one named child. ``dict(type='Pretrained', checkpoint=path or URL,
prefix='backbone')`` loads weights from a file instead; it runs last, after the children.

``init_weights()`` works as in mmengine: apply my ``init_cfg`` (all but Pretrained), then
call ``init_weights()`` of every child that has one (so a child's own ``init_cfg`` wins over
its parent's), then load Pretrained weights. Calling it twice warns and does nothing.
"""
import copy
import logging
import math
import warnings

from minicls import nn
from minicls.io import load_state_dict, load_weights

logger = logging.getLogger('minicls')

__all__ = ['BaseModule', 'InitCfgList', 'INITIALIZERS', 'initialize', 'constant_init',
           'normal_init', 'trunc_normal_init', 'kaiming_init', 'xavier_init', 'uniform_init',
           'load_pretrained']


# -- the initialisers: each sets ``module.weight`` one way and ``module.bias`` to a constant ----
def _param(module, name):
    value = getattr(module, name, None)
    return value if hasattr(value, 'grad_fn') else None  # a Parameter/Tensor, not a method


def _init(module, weight_fn, bias):
    """Apply ``weight_fn(weight)`` and ``bias`` to a module's own ``weight``/``bias``."""
    import minicls
    with minicls.no_grad():
        weight, bias_param = _param(module, 'weight'), _param(module, 'bias')
        if weight is not None:
            weight_fn(weight)
        if bias_param is not None:
            nn.init.constant_(bias_param, bias)


def constant_init(module, val, bias=0):
    """``weight = val``, ``bias = bias``."""
    _init(module, lambda w: nn.init.constant_(w, val), bias)


def normal_init(module, mean=0, std=1, bias=0):
    """``weight ~ N(mean, std^2)``."""
    _init(module, lambda w: nn.init.normal_(w, mean, std), bias)


def trunc_normal_init(module, mean=0, std=1, a=-2, b=2, bias=0):
    """``weight ~ N(mean, std^2)`` redrawn until inside ``[a, b]`` (absolute bounds)."""
    _init(module, lambda w: nn.init.trunc_normal_(w, mean, std, a, b), bias)


def uniform_init(module, a=0, b=1, bias=0):
    """``weight ~ U(a, b)``."""
    _init(module, lambda w: nn.init.uniform_(w, a, b), bias)


def kaiming_init(module, a=0, mode='fan_out', nonlinearity='relu', bias=0,
                 distribution='normal'):
    """He init: ``std = gain / sqrt(fan)``, fan = ``fan_in`` or ``fan_out`` of the weight."""
    assert distribution in ('uniform', 'normal'), f'unknown distribution {distribution!r}'
    fn = nn.init.kaiming_uniform_ if distribution == 'uniform' else nn.init.kaiming_normal_
    _init(module, lambda w: fn(w, a=a, mode=mode, nonlinearity=nonlinearity), bias)


def xavier_init(module, gain=1, bias=0, distribution='normal'):
    """Glorot init: ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    assert distribution in ('uniform', 'normal'), f'unknown distribution {distribution!r}'
    fn = nn.init.xavier_uniform_ if distribution == 'uniform' else nn.init.xavier_normal_
    _init(module, lambda w: fn(w, gain=gain), bias)


def bias_init_with_prob(prior_prob):
    """The bias whose sigmoid is ``prior_prob``: ``-log((1 - p) / p)``."""
    return float(-math.log((1 - prior_prob) / prior_prob))


# init_cfg type -> (function, the keys it takes besides layer/override/bias/bias_prob)
INITIALIZERS = {
    'Constant': (constant_init, ('val',)),
    'Normal': (normal_init, ('mean', 'std')),
    'TruncNormal': (trunc_normal_init, ('mean', 'std', 'a', 'b')),
    'Uniform': (uniform_init, ('a', 'b')),
    'Kaiming': (kaiming_init, ('a', 'mode', 'nonlinearity', 'distribution')),
    'Xavier': (xavier_init, ('gain', 'distribution')),
}


def _class_names(module):
    """The name of the module's class and of every class it derives from."""
    return {cls.__name__ for cls in type(module).__mro__}


def _apply_one(module, cfg, whole_module=False):
    """Apply one init dict to every sub-module whose class matches ``cfg['layer']``."""
    cfg = dict(cfg)
    init_type = cfg.pop('type')
    if init_type == 'Pretrained':
        load_pretrained(module, **cfg)
        return
    if init_type not in INITIALIZERS:
        raise KeyError(f'Unknown init type {init_type!r} in init_cfg; use one of '
                       f'{sorted(INITIALIZERS) + ["Pretrained"]}.')
    fn, keys = INITIALIZERS[init_type]
    layers = cfg.pop('layer', None)
    layers = [layers] if isinstance(layers, str) else list(layers or [])
    override = cfg.pop('override', None)
    bias_prob = cfg.pop('bias_prob', None)
    if bias_prob is not None:
        cfg['bias'] = bias_init_with_prob(bias_prob)
    unknown = set(cfg) - set(keys) - {'bias'}
    if unknown:
        raise TypeError(f'{init_type} init got unexpected keys {sorted(unknown)}; it takes '
                        f'{list(keys) + ["bias", "layer", "override", "bias_prob"]}')
    for m in module.modules():
        if whole_module or _class_names(m) & set(layers):
            fn(m, **cfg)
    for ov in ([override] if isinstance(override, dict) else list(override or [])):
        ov = dict(ov)
        name = ov.pop('name', None)
        if name is None or not hasattr(module, name):
            raise ValueError(f'override needs name= of a child of {type(module).__name__}, '
                             f'got {name!r}')
        if 'type' not in ov:  # inherit everything but layer/override from the parent cfg
            ov = dict(cfg, type=init_type, **ov)
        _apply_one(getattr(module, name), ov, whole_module=True)


def initialize(module, init_cfg):
    """Apply ``init_cfg`` (a dict or a list of dicts) to ``module`` and its sub-modules."""
    if isinstance(init_cfg, dict):
        init_cfg = [init_cfg]
    if not isinstance(init_cfg, (list, tuple)):
        raise TypeError(f'init_cfg must be a dict or a list of dicts, but got {init_cfg!r}')
    for cfg in init_cfg:
        _apply_one(module, cfg)


# -- Pretrained ---------------------------------------------------------------------------------
def load_pretrained(module, checkpoint, prefix=None, map_location=None):
    """Load weights into ``module`` non-strictly, as mmengine's ``PretrainedInit``.

    With ``prefix='backbone'`` only the keys starting with ``backbone.`` are used, with the
    prefix removed (so a whole-classifier checkpoint can fill just the backbone). Missing and
    unexpected keys, and keys whose shape differs (a head with another number of classes),
    are skipped and logged. At least one key must match, else the wrong file was given.
    """
    own = module.state_dict()
    # torchvision's names are mmpretrain's backbone names without `backbone.`; they are renamed
    # (see load_pth_state_dict) unless they go straight into a backbone: no prefix, no head
    straight = prefix is None and not any(k.startswith(('backbone.', 'head.')) for k in own)
    state = load_weights(checkpoint, convert=False if straight else 'auto')
    if prefix is not None:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        assert state, f'{prefix} is not in the pretrained model {checkpoint}'
    load_state_dict(module, state, logger=logger, source=str(checkpoint))
    logger.info('Loaded pretrained weights from %s into %s', checkpoint, type(module).__name__)


# -- the module ---------------------------------------------------------------------------------
class InitCfgList(list):
    """A list of init dicts that also answers a string key, as if it were one dict.

    mmpretrain's guide overrides ``init_weights`` with
    ``if self.init_cfg is not None and self.init_cfg['type'] == 'Pretrained': return``
    although ResNet's default ``init_cfg`` is a *list*, where ``['type']`` raises TypeError
    (in mmpretrain too). So that such code runs, ``cfgs['type']`` gives ``'Pretrained'`` when
    one of the dicts loads weights, else the list of every dict's value for the key.
    """

    def __getitem__(self, key):
        if not isinstance(key, str):
            return super().__getitem__(key)
        values = [cfg.get(key) for cfg in self]
        return 'Pretrained' if key == 'type' and 'Pretrained' in values else values


def _init_children(module):
    """Call ``init_weights()`` of every child that has one; look inside plain containers
    (``ModuleList``, ``Sequential``, ``ModuleDict``), which are BaseModules in mmengine."""
    for child in module.children():
        if hasattr(child, 'init_weights'):
            if not getattr(child, 'is_init', False):
                child.init_weights()
        elif isinstance(child, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            _init_children(child)


class BaseModule(nn.Module):
    """``nn.Module`` plus ``init_cfg`` / ``init_weights()`` (see the file docstring)."""

    def __init__(self, init_cfg=None):
        super().__init__()
        self._is_init = False
        init_cfg = copy.deepcopy(init_cfg)
        self.init_cfg = InitCfgList(init_cfg) if isinstance(init_cfg, list) else init_cfg

    @property
    def is_init(self):
        return self._is_init

    def init_weights(self):
        if self._is_init:
            warnings.warn(f'init_weights of {type(self).__name__} has been called more than '
                          'once; it did nothing this time.')
            return
        cfgs = self.init_cfg if isinstance(self.init_cfg, (list, tuple)) else \
            [self.init_cfg] if self.init_cfg else []
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        initialize(self, [c for c in cfgs if c.get('type') != 'Pretrained'])
        _init_children(self)
        if pretrained:
            initialize(self, pretrained)
        self._is_init = True
