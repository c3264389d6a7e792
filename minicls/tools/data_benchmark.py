"""How many images per second the data pipeline delivers.

    python -m minicls.tools.data_benchmark --data-root /data/cifar10_images/train

``--data-root`` is any folder with one sub-folder of images per class (e.g. CIFAR-10 exported
as JPEG files; see datasets/README.md).

Runs the CIFAR training pipeline (LoadImageFromFile decoding JPEG, RandomCrop(32, padding=4),
RandomFlip, PackInputs, collate into (N, 3, 32, 32) uint8 batches) through the DataLoader
with each number of workers (threads and processes), and prints images/s. The figure to compare it with is what
training consumes (tens to hundreds of images/s for a ResNet on a CPU).

Explained in tutorials/08_data_pipeline.md.
"""
import argparse
import sys
import time

from minicls.datasets import CustomDataset, DataLoader
from minicls.cli import command_line

CIFAR_TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]


def measure(dataset, batch_size, num_workers, max_images, worker_type='thread'):
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                        seed=0, worker_type=worker_type)
    n, start = 0, time.perf_counter()
    for batch in loader:
        n += len(batch['inputs'])
        if n >= max_images:
            break
    return n, time.perf_counter() - start


@command_line
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', required=True,
                        help='a folder with one sub-folder of images per class')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument('--worker-types', nargs='+', default=['thread', 'process'],
                        choices=['thread', 'process'])
    parser.add_argument('--max-images', type=int, default=10000,
                        help='stop each measurement after this many images')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    dataset = CustomDataset(data_root=args.data_root, pipeline=CIFAR_TRAIN_PIPELINE)
    print(f'{len(dataset)} images in {len(dataset.CLASSES)} classes, indexed in '
          f'{time.perf_counter() - start:.2f} s')
    runs = [(w, t) for w in args.workers for t in (args.worker_types if w else ['-'])]
    for workers, kind in runs:
        n, seconds = measure(dataset, args.batch_size, workers, args.max_images,
                             kind if workers else 'thread')
        what = f'num_workers={workers}' + (f' {kind} workers' if workers else '')
        print(f'{what}: {n} images in {seconds:.2f} s = {n / seconds:,.0f} images/s '
              f'(batch {args.batch_size})')


if __name__ == '__main__':
    sys.exit(main())
