"""``python -m minicls.predict IMAGE --checkpoint CKPT [--config CONFIG]``: the top-5 classes.

Without ``--config`` the config saved in the checkpoint is used.

    $ python -m minicls.predict bird.jpg --config minicls/configs/cpu/resnet_small_cpu_cifar10.py \\
          --checkpoint work_dirs/resnet_small_cpu_cifar10/epoch_18.npz
    bird.jpg
      1. bird        0.9312
      2. airplane    0.0301
      ...

Several files, a folder (every image below it) or a quoted glob (``'photos/*.jpg'``) give one
line per image: path, the top classes and their scores. A file that cannot be read as an image
gives one line saying so (on stderr) and the others are still classified; the exit code is then
2.
"""
import glob
import os
import os.path as osp
import sys

import numpy as np

from minicls.cli import command_line, configs_help, load_config, make_parser


def collect_images(items):
    """``(paths, problems)``: the image files named by ``items`` (files, folders, globs).

    A folder gives every file below it with an image extension (sorted); a glob is expanded
    when no file has that name. Files named one by one are kept whatever their extension
    (reading them tells). ``problems`` holds one line per item that gave nothing."""
    from minicls.datasets.custom import IMG_EXTENSIONS
    paths, problems = [], []
    for item in items:
        if osp.isdir(item):
            found = sorted(osp.join(root, f) for root, _, files in os.walk(item) for f in files
                           if f.lower().endswith(IMG_EXTENSIONS))
            if not found:
                problems.append(f'{item}: no image files in this folder (extensions: '
                                f'{" ".join(IMG_EXTENSIONS)})')
            paths += found
        elif osp.exists(item):
            paths.append(item)
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item, recursive=True) if osp.isfile(p))
            if not found:
                problems.append(f'{item}: no file matches this pattern')
            paths += found
        else:
            problems.append(f'{item}: no such file or folder '
                            f'({osp.abspath(item)})')
    return paths, problems


EXAMPLES = """examples:
  python -m minicls.predict digit.png --checkpoint work_dirs/mnist_quickstart/epoch_12.npz
  python -m minicls.predict photos/ 'more/*.jpg' --checkpoint epoch_18.npz
  python -m minicls.predict a.jpg b.jpg --checkpoint epoch_18.npz --config my_config.py --topk 3
"""


@command_line
def main(argv=None):
    parser = make_parser('python -m minicls.predict', 'Classify images with a trained model.',
                         EXAMPLES + configs_help())
    parser.add_argument('images', nargs='+', help='image files, folders (every image below '
                                                  "them) or globs ('photos/*.jpg')")
    parser.add_argument('--config', help='config file or shipped config name (default: the '
                                         'config saved in the checkpoint)')
    parser.add_argument('--checkpoint', required=True, help='checkpoint (.npz) or .pth weights')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--topk', type=int, default=5, help='how many classes to show')
    args = parser.parse_args(argv)
    paths, problems = collect_images(args.images)
    for line in problems:
        print(line, file=sys.stderr)
    if not paths:
        return 2
    from minicls.apis import get_model, inference_model
    model = get_model(load_config(args.config, args.checkpoint), checkpoint=args.checkpoint,
                      device=args.device)
    classes = (model.dataset_meta or {}).get('classes')
    one = len(paths) == 1 and not problems
    failed = len(problems)
    for image in paths:
        try:
            result = inference_model(model, image)
        except (OSError, ValueError) as err:  # not an image, or a broken one: say so, go on
            if one:
                raise   # a single input: the command line's one 'error:' line says it
            print(f'{image}: not an image minicls can read ({err.__cause__ or err})',
                  file=sys.stderr)
            failed += 1
            continue
        scores = result['pred_scores']
        top = [(classes[label] if classes else str(label), scores[label])
               for label in np.argsort(-scores, kind='stable')[:args.topk]]
        if one:  # a single image: one class per line
            print(image)
            for rank, (name, score) in enumerate(top, 1):
                print(f'  {rank}. {name:<20s} {score:.4f}')
        else:
            print(f'{image}  ' + '  '.join(f'{name} {score:.4f}' for name, score in top))
    if failed:
        print(f'{failed} of {len(paths) + len(problems)} inputs could not be classified',
              file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
