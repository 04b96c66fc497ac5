"""Static HTML and SVG for notebooks (``_repr_html_``) and other places with no JavaScript.

A base module with no import from the package: :class:`~sigopt_ai.RunRecord` (``_models``) and the
experiment's summary (:mod:`sigopt_ai.analysis._repr`) both draw with it. :func:`history_svg` draws
the ``history`` part of the analysis JSON (see :func:`sigopt_ai.analysis.history`): one mark per
sampled observation (a dot for a success, a cross for a failure, coloured by kind and placed on a
strip under the value axis, since a failure has no value), and the best value so far as a step line.
Every mark carries a ``<title>`` (a hover tip in every SVG viewer) and ``data-kind`` for a failure.
Every string is escaped: names, values and messages come from users.

Example:
    >>> svg = history_svg({"metric": "acc", "objective": "maximize", "x": [1, 2], "value": [0.5, None],
    ...                    "failed": [False, True], "kind": [None, "oom"], "best_x": [1, 2], "best": [0.5, 0.5]})
    >>> svg.count('class="mark')
    2
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, TypeGuard

__all__ = ["BOX", "KIND_COLORS", "OTHER_KIND", "curve_svg", "failure_html", "history_svg", "table_html", "value_html"]

KIND_COLORS: Mapping[str, str] = {
    "oom": "#e8590c",
    "diverged": "#7b2cbf",
    "invalid_assignment": "#d6336c",
}
"""A colour per failure kind, the dashboard's (``static/app.js``); any other kind gets :data:`OTHER_KIND`."""
OTHER_KIND = "#495057"
_SUCCESS = "#1c7ed6"
_BEST = "#2b8a3e"
_AXIS = "#888"
BOX = 'style="font-family:sans-serif;font-size:13px;line-height:1.4;max-width:560px"'
"""The attributes of a summary's outer ``<div>``."""
_CELL = 'style="text-align:left;padding:1px 8px 1px 0;font-weight:normal"'

# Layout in SVG user units; the viewBox scales it to the notebook's width.
_LEFT, _RIGHT, _TOP = 58, 12, 44  # the title and the legend sit above _TOP
_STRIP = 16  # the failures' strip under the plot area


def history_svg(
    history: Mapping[str, Any], *, width: int = 520, height: int = 240, x_label: str = "observation", line: bool = False
) -> str:
    """Render the history (the analysis JSON's ``history`` shape) as one ``<svg>`` element.

    Args:
        history: ``{"metric", "objective", "x", "value", "failed", "kind", "best_x", "best"}``;
            ``value`` entries are None for failures (and non-finite values).
        width: The drawing's width in SVG units (it scales to its container).
        height: The drawing's height in SVG units.
        x_label: The x axis' title.
        line: Join the values with a line (a curve over steps rather than separate observations).

    Returns:
        The SVG markup, with one element of class ``mark`` per entry of ``history["x"]``.
    """
    xs: Sequence[float] = history.get("x") or []
    values: Sequence[float | None] = history.get("value") or []
    failed: Sequence[bool] = history.get("failed") or []
    kinds: Sequence[str | None] = history.get("kind") or []
    best_x: Sequence[float] = history.get("best_x") or []
    best: Sequence[float | None] = history.get("best") or []
    metric = history.get("metric") or "value"

    bottom = height - 34  # the value axis' baseline; the failures' strip and x labels sit under it
    plot_h = bottom - _STRIP - _TOP
    x_lo, x_hi = _span([float(x) for x in xs] or [0.0, 1.0])
    finite = [float(v) for v in list(values) + list(best) if _finite(v)]
    y_lo, y_hi = _span(finite or [0.0, 1.0])

    def px(x: float) -> float:
        return _LEFT + (x - x_lo) / (x_hi - x_lo) * (width - _LEFT - _RIGHT)

    def py(v: float) -> float:
        return _TOP + (y_hi - v) / (y_hi - y_lo) * plot_h

    strip_y = bottom - _STRIP / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px;font:11px sans-serif" role="img" '
        f'aria-label="{escape(str(metric))} against {escape(x_label)}">',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}" stroke="{_AXIS}"/>',
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{width - _RIGHT}" y2="{bottom}" stroke="{_AXIS}"/>',
        f'<text x="4" y="14">{escape(_title(metric, history.get("objective")))}</text>',
        f'<text x="{(width + _LEFT) / 2}" y="{bottom + 28}" text-anchor="middle">{escape(x_label)}</text>',
    ]
    # The axes are labelled at the data's ends, not at the padded ends of the plot area.
    for x in sorted({min(xs), max(xs)}) if xs else []:
        parts.append(f'<text x="{px(float(x)):.1f}" y="{bottom + 14}" text-anchor="middle">{_num(x)}</text>')
    for v in sorted({min(finite), max(finite)}) if finite else []:
        parts.append(f'<text x="{_LEFT - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{_num(v)}</text>')
    if any(failed):
        parts.append(f'<text x="{_LEFT - 4}" y="{strip_y + 4}" text-anchor="end">failed</text>')
    steps = _step_points([(float(x), v) for x, v in zip(best_x, best, strict=False)], x_hi)
    if steps:
        points = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in steps)
        parts.append(f'<polyline class="best" points="{points}" fill="none" stroke="{_BEST}" stroke-width="1.5"/>')
    if line:
        joined = " ".join(
            f"{px(float(x)):.1f},{py(float(v)):.1f}" for x, v in zip(xs, values, strict=False) if _finite(v)
        )
        parts.append(f'<polyline class="curve" points="{joined}" fill="none" stroke="{_SUCCESS}" stroke-width="1"/>')
    for i, x in enumerate(xs):
        value = values[i] if i < len(values) else None
        is_failed = bool(failed[i]) if i < len(failed) else False
        kind = kinds[i] if i < len(kinds) else None
        parts.append(
            _mark(
                px(float(x)),
                strip_y if is_failed or not _finite(value) else py(float(value)),
                x,
                value,
                kind,
                is_failed,
            )
        )
    parts.append(_legend(width, [k for k, f in zip(kinds, failed, strict=False) if f], bool(steps)))
    parts.append("</svg>")
    return "".join(parts)


def _mark(cx: float, cy: float, x: Any, value: float | None, kind: str | None, failed: bool) -> str:
    if failed:
        label = escape(str(kind or "unknown"))
        color = KIND_COLORS.get(str(kind), OTHER_KIND)
        d = f"M{cx - 3:.1f},{cy - 3:.1f}l6,6m0,-6l-6,6"
        return (
            f'<path class="mark failed" data-kind="{label}" d="{d}" stroke="{color}" stroke-width="1.5">'
            f"<title>#{escape(str(x))} failed: {label}</title></path>"
        )
    tip = f"#{escape(str(x))}: {_num(value)}" if _finite(value) else f"#{escape(str(x))}: no value"
    return (
        f'<circle class="mark" cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{_SUCCESS}" fill-opacity="0.7">'
        f"<title>{tip}</title></circle>"
    )


def _legend(width: int, failed_kinds: Sequence[str | None], has_best: bool) -> str:
    entries = [("value", _SUCCESS)] + ([("best so far", _BEST)] if has_best else [])
    entries += [(f"failed: {k or 'unknown'}", KIND_COLORS.get(str(k), OTHER_KIND)) for k in dict.fromkeys(failed_kinds)]
    out, x = [], 4.0
    for text, color in entries:  # one row under the title; the width of a character is a guess
        out.append(f'<rect x="{x:.0f}" y="22" width="9" height="9" fill="{color}"/>')
        out.append(f'<text x="{x + 12:.0f}" y="30">{escape(text)}</text>')
        x += 6 * len(text) + 24
    return f'<g class="legend">{"".join(out)}</g>'


def _step_points(best: Sequence[tuple[float, float | None]], x_end: float) -> list[tuple[float, float]]:
    """The best-so-far line as a staircase: each value holds until the next change, up to ``x_end``."""
    points: list[tuple[float, float]] = []
    for x, v in best:
        if not _finite(v):
            continue
        if points:
            points.append((x, points[-1][1]))
        points.append((x, float(v)))
    if points and points[-1][0] < x_end:
        points.append((x_end, points[-1][1]))
    return points


def _span(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi == lo:  # one value (or one observation): give the axis some width around it
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.04
    return lo - pad, hi + pad


def _title(metric: Any, objective: Any) -> str:
    return f"{metric} ({objective})" if objective else str(metric)


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> str:
    return escape(f"{value:.4g}") if _finite(value) else "-"


def value_html(value: Any) -> str:
    """A parameter or metric value as escaped text (floats to 6 significant digits)."""
    if isinstance(value, float):
        return escape(f"{value:.6g}")
    return escape(str(value))


def table_html(title: str, values: Mapping[str, Any]) -> str:
    """A titled two-column table of ``values``, sorted by name; empty for no values."""
    if not values:
        return ""
    rows = "".join(
        f"<tr><th {_CELL}>{escape(str(name))}</th><td {_CELL}>{value_html(values[name])}</td></tr>"
        for name in sorted(values)
    )
    heading = f'<div style="color:#666;margin-top:4px">{escape(title)}</div>'
    return f'{heading}<table style="border-collapse:collapse">{rows}</table>'


def failure_html(kind: str, type: str | None, message: str | None, traceback: str | None) -> str:
    """A failure: its kind in the kind's colour, the exception's type and message, and the traceback
    folded."""
    color = KIND_COLORS.get(kind, OTHER_KIND)
    text = f'<div>failed: <strong style="color:{color}">{escape(kind)}</strong>'
    if type:
        text += f" {escape(type)}"
    if message:
        text += f": {escape(message)}"
    text += "</div>"
    if traceback:
        text += f"<details><summary>traceback</summary><pre>{escape(traceback)}</pre></details>"
    return text


def curve_svg(metric: str, steps: Sequence[float], values: Sequence[float]) -> str:
    """One metric against its checkpoint steps, in the history plot's drawing."""
    curve = {
        "metric": metric,
        "objective": None,
        "x": list(steps),
        "value": [v if _finite(v) else None for v in values],
        "failed": [False] * len(steps),
        "kind": [None] * len(steps),
    }
    return history_svg(curve, x_label="checkpoint step", line=True, height=180)
