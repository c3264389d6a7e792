"""``python -m minicls.predict IMAGE --config CONFIG --checkpoint CKPT``: the top-5 classes.

    $ python -m minicls.predict bird.jpg --config minicls/configs/cpu/resnet_small_cpu_cifar10.py \\
          --checkpoint work_dirs/resnet_small_cpu_cifar10/epoch_18.npz
    bird.jpg
      1. bird        0.9312
      2. airplane    0.0301
      ...
"""
import argparse
import sys

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m minicls.predict',
                                     description='Classify images with a trained model.')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--config', required=True, help='config file or shipped config name')
    parser.add_argument('--checkpoint', required=True, help='checkpoint (.npz) or .pth weights')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--topk', type=int, default=5)
    args = parser.parse_args(argv)
    from minicls.apis import get_model, inference_model
    from minicls.engine.checkpoint import CheckpointError
    try:
        model = get_model(args.config, checkpoint=args.checkpoint, device=args.device)
    except CheckpointError as err:  # a file that does not fit the model: say so, no traceback
        raise SystemExit(f'error: {err}') from None
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
