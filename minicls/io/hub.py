"""Pretrained weights by URL, downloaded once into a cache (as ``torch.hub`` does).

``init_cfg=dict(type='Pretrained', checkpoint=URL)`` and ``load_from=URL`` accept:

* ``http://`` and ``https://`` URLs, e.g. mmpretrain's ``https://download.openmmlab.com/
  mmclassification/v0/resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth`` (one line);
* ``torchvision://NAME``, mapped to torchvision's URL as mmengine maps it: ``resnet50`` is the
  URL of torchvision 0.12's ``model_urls`` (the ``IMAGENET1K_V1`` weights), and the names of
  the newer weights API work too: ``resnet50.imagenet1k_v2``, ``ResNet50_Weights.DEFAULT``;
* ``open-mmlab://NAME`` (or ``openmmlab://NAME``), mapped as mmengine's ``open_mmlab.json``.

Only the ResNets are in the tables below; any other file is reachable by its full URL.

A file is downloaded once into :func:`get_dir` (``$MINICLS_HOME/checkpoints``, by default
``~/.cache/minicls/checkpoints``) and read from there afterwards, without the network. When its
name carries a SHA-256 prefix (torch hub's ``NAME-<first 8+ hex digits>.pth`` convention, which
mmpretrain's file names follow too) the download is checked against it.
"""
import os
import os.path as osp
import re
import urllib.parse

from .download import DownloadError, download_url_to_file

__all__ = ['get_dir', 'is_url', 'resolve_url', 'cached_download']

_TV = 'https://download.pytorch.org/models/'
_TV_V1 = {'resnet18': 'resnet18-f37072fd.pth', 'resnet34': 'resnet34-b627a593.pth',
          'resnet50': 'resnet50-0676ba61.pth', 'resnet101': 'resnet101-63fe2227.pth',
          'resnet152': 'resnet152-394f9c45.pth'}
_TV_V2 = {'resnet50': 'resnet50-11ad3fa6.pth', 'resnet101': 'resnet101-cd907fc2.pth',
          'resnet152': 'resnet152-f82ba261.pth'}
TORCHVISION_URLS = {}
for _name, _file in _TV_V1.items():
    TORCHVISION_URLS[_name] = TORCHVISION_URLS[f'{_name}.imagenet1k_v1'] = _TV + _file
    if _name in _TV_V2:
        TORCHVISION_URLS[f'{_name}.imagenet1k_v2'] = _TV + _TV_V2[_name]
    TORCHVISION_URLS[f'{_name}.default'] = _TV + _TV_V2.get(_name, _file)

_MM = 'https://download.openmmlab.com/pretrain/third_party/'
OPENMMLAB_URLS = {'resnet18_v1c': _MM + 'resnet18_v1c-b5776b93.pth',
                  'resnet50_v1c': _MM + 'resnet50_v1c-2cccc1ad.pth',
                  'resnet101_v1c': _MM + 'resnet101_v1c-e67eebb6.pth'}

SCHEMES = {'torchvision://': TORCHVISION_URLS, 'open-mmlab://': OPENMMLAB_URLS,
           'openmmlab://': OPENMMLAB_URLS}
HASH_PREFIX = re.compile(r'-([0-9a-f]{8,64})\.\w+$')


def get_dir():
    """The download cache: ``$MINICLS_HOME/checkpoints`` (``MINICLS_HOME`` defaults to
    ``$XDG_CACHE_HOME/minicls``, that is ``~/.cache/minicls``)."""
    home = os.environ.get('MINICLS_HOME') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join('~', '.cache'), 'minicls')
    return osp.join(osp.expanduser(home), 'checkpoints')


def is_url(name):
    """True for the names :func:`cached_download` fetches (http(s) URLs and the schemes)."""
    return isinstance(name, str) and name.startswith(('http://', 'https://', *SCHEMES))


def resolve_url(name):
    """The ``https://`` URL behind a ``torchvision://`` or ``open-mmlab://`` name (an
    ``http(s)://`` URL comes back as it is)."""
    for scheme, table in SCHEMES.items():
        if name.startswith(scheme):
            key = name[len(scheme):]
            if scheme == 'torchvision://':  # ResNet50_Weights.DEFAULT -> resnet50.default
                key = key.lower().replace('_weights', '')
            if key not in table:
                raise KeyError(f'unknown {scheme} name {key!r}: minicls knows '
                               f'{", ".join(sorted(table))}; give the full https:// URL of '
                               'any other file')
            return table[key]
    return name


def cached_download(url, progress=True):
    """The local path of ``url`` (or a scheme name) in the cache, downloading it the first
    time. Raises ``DownloadError`` (one line, saying where to put the file by hand)."""
    url = resolve_url(url)
    filename = osp.basename(urllib.parse.urlparse(url).path) or 'download.pth'
    path = osp.join(get_dir(), filename)
    if osp.isfile(path):
        return path
    os.makedirs(get_dir(), exist_ok=True)
    match = HASH_PREFIX.search(filename)
    try:
        download_url_to_file(url, path, hash_prefix=match.group(1) if match else None,
                             progress=progress)
    except DownloadError as err:
        message = str(err).replace('\n', ' ').rstrip('.')
        raise DownloadError(f'{message}. If this machine is offline, download the file '
                            f'elsewhere and put it at {path}') from err
    return path
