"""Server-side SVG charts for the report (no JavaScript, readable in print and by screen readers)."""

from __future__ import annotations

from html import escape

COLOURS = ("#004f87", "#4f8fc0", "#1f7a3a", "#9a5b00", "#7a3b8f", "#52606d")


def bar_chart(title: str, rows: list[tuple[str, int, int | None]], *, width: int = 640, unit: str = "") -> str:
    """Horizontal bars: (label, value, capacity or None); capacity draws as a light track."""
    bar_h, gap, label_w = 22, 10, 230
    height = 30 + len(rows) * (bar_h + gap)
    scale_max = max([max(v, c or 0) for _, v, c in rows] + [1])
    plot_w = width - label_w - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value, capacity) in enumerate(rows):
        y = 20 + i * (bar_h + gap)
        text = f"{value}" + (f" / {capacity}" if capacity is not None else "") + unit
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="#1d2630">{escape(_short(label))}</text>')
        if capacity is not None:
            parts.append(f'<rect x="{label_w}" y="{y}" width="{plot_w * capacity / scale_max:.1f}" height="{bar_h}" fill="#e3e8ed"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{plot_w * value / scale_max:.1f}" height="{bar_h}" fill="{COLOURS[0]}"/>')
        x = label_w + plot_w * max(value, capacity or 0) / scale_max + 6
        parts.append(f'<text x="{x:.1f}" y="{y + 15}" fill="#1d2630">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_chart(title: str, rows: list[tuple[str, dict[str, int]]], legend: dict[str, str], *, width: int = 640) -> str:
    """One stacked bar per row (e.g. workshop), segments per category (e.g. actor group), with a legend."""
    bar_h, gap, label_w = 22, 10, 230
    keys = list(legend)
    height = 30 + len(rows) * (bar_h + gap) + 20 * ((len(keys) + 2) // 3)
    total_max = max([sum(v.values()) for _, v in rows] + [1])
    plot_w = width - label_w - 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    for i, (label, values) in enumerate(rows):
        y = 20 + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="#1d2630">{escape(_short(label))}</text>')
        x = float(label_w)
        for k, key in enumerate(keys):
            w = plot_w * values.get(key, 0) / total_max
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[k % len(COLOURS)]}">'
                             f"<title>{escape(legend[key])}: {values.get(key, 0)}</title></rect>")
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" fill="#1d2630">{sum(values.values())}</text>')
    y0 = 30 + len(rows) * (bar_h + gap)
    for k, key in enumerate(keys):
        lx, ly = 10 + (k % 3) * (width // 3), y0 + (k // 3) * 20
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{COLOURS[k % len(COLOURS)]}"/>'
                     f'<text x="{lx + 18}" y="{ly}" fill="#1d2630">{escape(legend[key])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
