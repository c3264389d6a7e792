"""Your own images: :class:`CustomDataset` (a folder per class, or an annotation file).

Two layouts, as in mmpretrain::

    data_root/                       data_root/
      cat/ 001.jpg 002.png ...         ann.txt        <- lines "images/001.jpg 3"
      dog/ 003.jpg ...                 images/ 001.jpg ...

Without ``ann_file`` every sub-folder of ``data_root/data_prefix`` is a class (sorted by name,
so label 0 is the first folder alphabetically) and every image below it, at any depth, is a
sample. With ``ann_file`` each non-empty line is ``relative/path label`` (or just the path when
``with_label=False``), the path relative to ``data_root/data_prefix``.
Samples hold ``img_path`` only: put ``dict(type='LoadImageFromFile')`` first in the pipeline.
"""
import logging
import os
import os.path as osp

from minicls.registry import DATASETS

from .base_dataset import BaseDataset

__all__ = ['CustomDataset', 'IMG_EXTENSIONS']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class CustomDataset(BaseDataset):
    """Images in folders, or listed in an annotation file.

    Args:
        data_root (str): the root folder.
        data_prefix (str): sub-folder of ``data_root`` with the images (default: the root).
        ann_file (str): annotation file (relative to ``data_root``); '' means scan folders.
        with_label (bool): whether there are labels; without them, a folder scan takes every
            image below the prefix and an annotation line is just a path.
        extensions (Sequence[str]): file endings counted as images (case-insensitive).
        metainfo / classes: class names; by default the folder names (sorted), or for an
            annotation file ``('0', '1', ...)`` up to the largest label.
    """

    def __init__(self, data_root='', data_prefix='', ann_file='', with_label=True,
                 extensions=IMG_EXTENSIONS, **kwargs):
        if isinstance(extensions, str):
            extensions = (extensions,)
        self.extensions = tuple(e.lower() if e.startswith('.') else '.' + e.lower()
                                for e in extensions)
        self.with_label = with_label
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    # -- folder scan ---------------------------------------------------------------------
    def _is_image(self, name):
        return name.lower().endswith(self.extensions)

    def _images_under(self, folder):
        """Relative paths of all images below ``folder``, sorted, following no links out."""
        found = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            found += [osp.relpath(osp.join(root, f), folder) for f in sorted(files)
                      if self._is_image(f)]
        return found

    def _scan_folders(self):
        root = self.data_prefix
        if not osp.isdir(root):
            raise FileNotFoundError(f'CustomDataset: folder not found: {osp.abspath(root)}')
        if not self.with_label:
            return [{'img_path': osp.join(root, p)} for p in self._images_under(root)]
        folders = sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))
        given_classes = self.CLASSES
        if given_classes is None:
            self._metainfo['classes'] = tuple(folders)
        index = self.class_to_idx
        unknown = [f for f in folders if f not in index]
        if unknown:
            raise ValueError(f'CustomDataset: folders {unknown} in {osp.abspath(root)} are not '
                             f'among the given classes {self.CLASSES}')
        samples, empty = [], []
        for folder in folders:
            found = self._images_under(osp.join(root, folder))
            if not found:
                empty.append(osp.abspath(osp.join(root, folder)))
            samples += [{'img_path': osp.join(root, folder, p), 'gt_label': index[folder]}
                        for p in found]
        if empty and samples and given_classes is None:
            # An empty folder would still be a class (label), silently shifting the labels of
            # the folders after it -- differently in train and val if only one has it empty.
            # (No images at all is reported by load_data_list.)
            raise ValueError(
                f'CustomDataset: class folder(s) with no images: {", ".join(empty)} (image '
                f'extensions: {" ".join(self.extensions)}). Add images, remove the folder(s), '
                'or list the classes explicitly with metainfo=dict(classes=[...]).')
        if empty and samples:
            logging.getLogger('minicls').warning(
                f'CustomDataset: class folder(s) with no images: {", ".join(empty)}; they keep '
                'their labels from the given classes.')
        return samples

    # -- annotation file -----------------------------------------------------------------
    def _read_ann_file(self):
        path = osp.abspath(self._join(osp.expanduser(self.ann_file)))
        if not osp.isfile(path):
            raise FileNotFoundError(f'CustomDataset: annotation file not found: {path}')
        samples, max_label = [], -1
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                if not self.with_label:
                    samples.append({'img_path': osp.join(self.data_prefix, line)})
                    continue
                parts = line.rsplit(maxsplit=1)  # the path may contain spaces, the label not
                try:
                    label = int(parts[1]) if len(parts) == 2 else None
                except ValueError:
                    label = None
                if label is None:
                    raise ValueError(f'{path}, line {lineno}: expected "relative/path label", '
                                     f'got {line!r}')
                if label < 0:
                    raise ValueError(f'{path}, line {lineno}: negative label {label}')
                max_label = max(max_label, label)
                samples.append({'img_path': osp.join(self.data_prefix, parts[0]),
                                'gt_label': label})
        if self.with_label and self.CLASSES is None:
            self._metainfo['classes'] = tuple(str(i) for i in range(max_label + 1))
        return samples

    def load_data_list(self):
        samples = self._read_ann_file() if self.ann_file else self._scan_folders()
        if not samples:
            where = (self._join(self.ann_file) if self.ann_file else self.data_prefix)
            raise ValueError(f'CustomDataset: no images found in {where!r} (extensions: '
                             f'{", ".join(self.extensions)})')
        return samples
