"""``python -m minicls.predict IMAGE --checkpoint CKPT [--config CONFIG]``: the top-5 classes.

Without ``--config`` the config saved in the checkpoint is used.

    $ python -m minicls.predict bird.jpg --config minicls/configs/cpu/resnet_small_cpu_cifar10.py \\
          --checkpoint work_dirs/resnet_small_cpu_cifar10/epoch_18.npz
    bird.jpg
      1. bird        0.9312
      2. airplane    0.0301
      ...
"""
import sys

import numpy as np

from minicls.cli import command_line, load_config, make_parser

EXAMPLES = """examples:
  python -m minicls.predict digit.png --checkpoint work_dirs/mnist_quickstart/epoch_12.npz
  python -m minicls.predict a.jpg b.jpg --checkpoint epoch_18.npz --config my_config.py --topk 3
"""


@command_line
def main(argv=None):
    parser = make_parser('python -m minicls.predict', 'Classify images with a trained model.',
                         EXAMPLES)
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--config', help='config file or shipped config name (default: the '
                                         'config saved in the checkpoint)')
    parser.add_argument('--checkpoint', required=True, help='checkpoint (.npz) or .pth weights')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--topk', type=int, default=5, help='how many classes to show')
    args = parser.parse_args(argv)
    from minicls.apis import get_model, inference_model
    model = get_model(load_config(args.config, args.checkpoint), checkpoint=args.checkpoint,
                      device=args.device)
    classes = (model.dataset_meta or {}).get('classes')
    for image in args.images:
        result = inference_model(model, image)
        scores = result['pred_scores']
        print(image)
        for rank, label in enumerate(np.argsort(-scores, kind='stable')[:args.topk], 1):
            name = classes[label] if classes else str(label)
            print(f'  {rank}. {name:<20s} {scores[label]:.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
