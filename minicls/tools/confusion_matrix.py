"""A confusion matrix of a test run, as a PNG (Pillow only).

    python -m minicls.test CONFIG CKPT --out preds.json
    python -m minicls.tools.confusion_matrix preds.json [--out cm.png] [--normalize]

Row i, column j counts the test images of true class i predicted as class j; the diagonal
holds the correct ones. With ``--normalize`` each row is divided by its total (recall per
class).

Explained in tutorials/09_reading_a_training_run.md.
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


def _cell_color(value, scale, diagonal):
    """Blue for the diagonal (correct), red for errors; ``scale`` in [0, 1], 0 is white."""
    if diagonal:
        return (int(255 - 220 * scale), int(255 - 160 * scale), 255)
    return (255, int(255 - 200 * scale), int(255 - 200 * scale))


def draw_confusion_matrix(matrix, classes, normalize=False, title='confusion matrix'):
    """The matrix as an Image: correct cells in blue, errors in red on their own scale (the
    largest error is full red, any error at least light red, so a few mistakes among many
    correct images stay visible); cells with no images are blank when normalised."""
    n = len(classes)
    values = matrix / np.maximum(matrix.sum(1, keepdims=True), 1) if normalize else matrix
    cell = max(28, min(60, 640 // max(n, 1)))
    f = font(11 if cell < 40 else 13)
    probe = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    label_w = 12 + max(int(probe.textlength(str(c), font=f)) for c in classes)
    top = 40 + label_w
    x0 = label_w + 30
    footer = 'predicted class ->   (rows: true class; blue: correct, red: errors)'
    width = max(x0 + n * cell + 20, 20 + int(probe.textlength(title, font=font(14))),
                x0 + 10 + int(probe.textlength(footer, font=f)))
    img = Image.new('RGB', (width, top + n * cell + 40), 'white')
    draw = ImageDraw.Draw(img)
    draw.text((10, 8), title, fill='black', font=font(14))
    diag = np.eye(n, dtype=bool)
    vmax = values[diag].max() if n else 0
    emax = values[~diag].max() if n > 1 else 0
    for i in range(n):
        draw.text((6, top + i * cell + cell // 2 - 6), str(classes[i]), fill='black', font=f)
        # column labels, written vertically
        text = Image.new('RGB', (label_w, 16), 'white')
        ImageDraw.Draw(text).text((2, 1), str(classes[i]), fill='black', font=f)
        rotated = text.rotate(90, expand=True)
        img.paste(rotated, (x0 + i * cell + cell // 2 - 8, 34))
        for j in range(n):
            v = values[i, j]
            if i == j:
                scale = v / vmax if vmax else 0.0
            else:
                scale = 0.2 + 0.8 * v / emax if v > 0 else 0.0
            box = [x0 + j * cell, top + i * cell, x0 + (j + 1) * cell, top + (i + 1) * cell]
            draw.rectangle(box, fill=_cell_color(v, scale, i == j), outline=(200, 200, 200))
            if normalize and v == 0:
                continue
            label = (f'{v:.2f}' if v >= 0.005 else '<.01') if normalize else str(int(v))
            draw.text((box[0] + 4, box[1] + cell // 2 - 6), label,
                      fill='white' if scale > 0.6 else 'black', font=f)
    draw.text((x0, top + n * cell + 10), footer, fill='black', font=f)
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
