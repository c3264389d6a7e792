"""``python -m minicls``: what the commands are."""
import sys

from minicls.cli import configs_help

COMMANDS = """minicls: image classification on a from-scratch NumPy/CuPy PyTorch, as mmpretrain.

commands (each has --help):
  python -m minicls.train [CONFIG]                       train (no CONFIG: the MNIST quickstart)
  python -m minicls.test [CONFIG] CHECKPOINT             test accuracy (--tta, --out preds.json)
  python -m minicls.predict IMAGE --checkpoint CKPT      the top-5 classes of an image
  python -m minicls.tools.confusion_matrix preds.json    draw the predictions of test --out
  python -m minicls.tools.plot_curves WORK_DIR           draw loss, lr and accuracy curves
  python -m minicls.tools.folder_to_cifar SRC DST        image folders -> CIFAR-10 batch files
  python -m minicls.tools.benchmark                      speed of a training step
  python -m minicls.tools.data_benchmark --data-root D   speed of the data loading

start with:
  python -m minicls.train
  python -m minicls.test work_dirs/mnist_quickstart/epoch_12.npz

"""


def main():
    print(COMMANDS + configs_help(), end='')
    return 0


if __name__ == '__main__':
    sys.exit(main())
