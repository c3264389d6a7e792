"""A tiny line-chart painter on Pillow (no matplotlib): axes, ticks, one or more lines."""
import math

from PIL import Image, ImageDraw, ImageFont

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def font(size=12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def nice_ticks(lo, hi, n=5):
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks


def _label(value):
    if value == 0:
        return '0'
    if abs(value) >= 1e4 or abs(value) < 1e-2:
        return f'{value:.1e}'
    return f'{value:g}'


def line_chart(series, title, xlabel, size=(520, 340), logy=False):
    """An Image with one panel. ``series``: list of (name, xs, ys)."""
    width, height = size
    img = Image.new('RGB', size, 'white')
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 70, 15, 30, 45
    f = font(12)
    draw.text((left, 8), title, fill='black', font=font(14))
    xs = [x for _, sx, _ in series for x in sx]
    ys = [y for _, _, sy in series for y in sy if not (logy and y <= 0)]
    if not xs or not ys:
        draw.text((left, height // 2), 'no data', fill='gray', font=f)
        return img
    fy = (lambda v: math.log10(v)) if logy else (lambda v: v)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(fy(y) for y in ys), max(fy(y) for y in ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (fy(y) - y0) / (y1 - y0) * ph

    draw.rectangle([left, top, left + pw, top + ph], outline='black')
    for t in nice_ticks(x0, x1):
        draw.line([px(t), top + ph, px(t), top + ph + 4], fill='black')
        draw.text((px(t) - 10, top + ph + 6), _label(t), fill='black', font=f)
    yticks = [10 ** k for k in range(math.floor(y0), math.ceil(y1) + 1)] if logy \
        else nice_ticks(y0, y1)
    for t in yticks:
        if not (y0 <= fy(t) <= y1):
            continue
        draw.line([left - 4, py(t), left, py(t)], fill='black')
        draw.line([left, py(t), left + pw, py(t)], fill=(225, 225, 225))
        draw.text((4, py(t) - 7), _label(t), fill='black', font=f)
    draw.text((left + pw // 2 - 20, height - 18), xlabel, fill='black', font=f)
    for i, (name, sx, sy) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        points = [(px(x), py(y)) for x, y in zip(sx, sy) if not (logy and y <= 0)]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)
        for p in points if len(points) <= 60 else []:
            draw.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=color)
        draw.text((left + pw - 140, top + 6 + 14 * i), name, fill=color, font=f)
    return img


def stack(images, columns=1):
    """Paste panels in a grid."""
    w = max(i.width for i in images)
    h = max(i.height for i in images)
    rows = math.ceil(len(images) / columns)
    out = Image.new('RGB', (w * columns, h * rows), 'white')
    for k, im in enumerate(images):
        out.paste(im, ((k % columns) * w, (k // columns) * h))
    return out
