"""A tiny line-chart painter on Pillow (no matplotlib): axes, ticks, one or more lines."""
import math

from PIL import Image, ImageDraw, ImageFont

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def font(size=12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def nice_ticks(lo, hi, n=5, integer=False):
    """About ``n`` round tick values covering [lo, hi] (whole numbers only if ``integer``)."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in ((1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)):
        if (hi - lo) / (m * step) <= n + 1:  # at most n + 1 intervals
            step *= m
            break
    if integer:
        step = max(1, round(step))
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks


def log_ticks(lo, hi):
    """1, 2 and 5 (or 1..9) times the powers of ten in [10**lo, 10**hi] (log10 bounds)."""
    for mults in ((1, 2, 5), range(1, 10)):  # all nine when 1-2-5 gives too few
        ticks = [m * 10.0 ** k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in mults]
        ticks = [t for t in ticks if lo <= math.log10(t) <= hi]
        if len(ticks) >= 3:
            break
    return ticks


def _label(value, integer=False):
    if integer:
        return str(int(round(value)))
    if value == 0:
        return '0'
    if abs(value) >= 1e4 or abs(value) < 1e-2:
        return f'{value:.1e}'
    return f'{value:g}'


def line_chart(series, title, xlabel, size=(660, 340), logy=False, integer_x=False,
               legend_width=150):
    """An Image with one panel. ``series``: list of (name, xs, ys).

    The legend sits in a ``legend_width`` column right of the plot, outside the data (the
    same width in every panel keeps stacked panels' x axes aligned); ``logy`` draws y on a
    log scale (values <= 0 are left out); ``integer_x`` puts the x ticks on whole numbers
    (epochs, iterations)."""
    width, height = size
    img = Image.new('RGB', size, 'white')
    draw = ImageDraw.Draw(img)
    f = font(12)
    left, right, top, bottom = 70, legend_width, 30, 45
    draw.text((left, 8), title + ('  (log scale)' if logy else ''), fill='black', font=font(14))
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
    if y1 == y0:  # a constant: 10% either side
        y0, y1 = (y0 - 0.5, y1 + 0.5) if logy or y0 == 0 else sorted((y0 * 0.9, y1 * 1.1))
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (fy(y) - y0) / (y1 - y0) * ph

    draw.rectangle([left, top, left + pw, top + ph], outline='black')
    for t in nice_ticks(x0, x1, integer=integer_x):
        text = _label(t, integer_x)
        draw.line([px(t), top + ph, px(t), top + ph + 4], fill='black')
        draw.text((px(t) - draw.textlength(text, font=f) / 2, top + ph + 6), text,
                  fill='black', font=f)
    yticks = log_ticks(y0, y1) if logy else nice_ticks(y0, y1)
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
        ly = top + 6 + 16 * i  # the legend: a colour sample and the name, right of the plot
        draw.line([left + pw + 8, ly + 7, left + pw + 22, ly + 7], fill=color, width=3)
        draw.text((left + pw + 26, ly), name, fill=color, font=f)
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
