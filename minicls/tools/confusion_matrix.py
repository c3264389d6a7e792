"""A confusion matrix of a test run, as a PNG (Pillow only).

    python -m minicls.test CONFIG CKPT --out preds.json
    python -m minicls.tools.confusion_matrix preds.json [--out cm.png] [--normalize]

Row i, column j counts the test images of true class i predicted as class j; the diagonal
holds the correct ones. With ``--normalize`` each row is divided by its total (recall per
class).
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
from PIL import Image, ImageDraw

from minicls.cli import command_line

from ._draw import font

__all__ = ['confusion_matrix', 'draw_confusion_matrix', 'main']


def confusion_matrix(gt, pred, num_classes):
    """(C, C) int64 counts: ``m[i, j]`` = number of samples of class i predicted as j."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(gt, np.int64), np.asarray(pred, np.int64)), 1)
    return m


def draw_confusion_matrix(matrix, classes, normalize=False, title='confusion matrix'):
    n = len(classes)
    values = matrix / np.maximum(matrix.sum(1, keepdims=True), 1) if normalize else matrix
    cell = max(28, min(60, 640 // max(n, 1)))
    label_w = 12 + 7 * max(len(str(c)) for c in classes)
    top = 40 + label_w
    size = (label_w + 30 + n * cell + 20, top + n * cell + 40)
    img = Image.new('RGB', size, 'white')
    draw = ImageDraw.Draw(img)
    f = font(11 if cell < 40 else 13)
    draw.text((10, 8), title, fill='black', font=font(14))
    vmax = values.max() or 1
    x0 = label_w + 30
    for i in range(n):
        draw.text((6, top + i * cell + cell // 2 - 6), str(classes[i]), fill='black', font=f)
        # column labels, written vertically
        text = Image.new('RGB', (label_w, 16), 'white')
        ImageDraw.Draw(text).text((2, 1), str(classes[i]), fill='black', font=f)
        rotated = text.rotate(90, expand=True)
        img.paste(rotated, (x0 + i * cell + cell // 2 - 8, 34))
        for j in range(n):
            v = values[i, j]
            shade = v / vmax
            color = (int(255 - 220 * shade), int(255 - 160 * shade), 255)
            box = [x0 + j * cell, top + i * cell, x0 + (j + 1) * cell, top + (i + 1) * cell]
            draw.rectangle(box, fill=color, outline=(200, 200, 200))
            label = f'{v:.2f}' if normalize else str(int(v))
            draw.text((box[0] + 4, box[1] + cell // 2 - 6), label,
                      fill='white' if shade > 0.6 else 'black', font=f)
    draw.text((x0, top + n * cell + 10), 'predicted class ->   (rows: true class)',
              fill='black', font=f)
    return img


@command_line
def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m minicls.tools.confusion_matrix',
                                     description='Draw the confusion matrix of a test run.')
    parser.add_argument('predictions', help='the JSON written by python -m minicls.test --out')
    parser.add_argument('--out', help='PNG path (default: next to the predictions)')
    parser.add_argument('--normalize', action='store_true', help='divide each row by its sum')
    args = parser.parse_args(argv)
    with open(args.predictions, encoding='utf-8') as f:
        data = json.load(f)
    preds = data['predictions']
    if not preds:
        raise SystemExit(f'{args.predictions} holds no predictions')
    num_classes = len(preds[0]['pred_scores'])
    classes = data.get('classes') or [str(i) for i in range(num_classes)]
    matrix = confusion_matrix([p['gt_label'] for p in preds], [p['pred_label'] for p in preds],
                              num_classes)
    acc = 100.0 * np.trace(matrix) / matrix.sum()
    out = args.out or osp.splitext(args.predictions)[0] + '_confusion.png'
    draw_confusion_matrix(matrix, classes, args.normalize,
                          title=f'confusion matrix ({len(preds)} images, top-1 {acc:.2f}%)'
                          ).save(out)
    print(out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
