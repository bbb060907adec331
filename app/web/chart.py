"""The burn-down chart as server-side SVG: a pure function of points, no I/O, no script.

Balances are integer ticks and times whole seconds; pixels are computed with integer
division so no float ever touches an amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 34, 34  # the legend sits above the plot


@dataclass(frozen=True)
class Series:
    """One line of the chart: (time, balance in ticks) points in time order."""

    name: str
    points: tuple[tuple[int, int], ...]
    css: str = "current"  # class of the line: current or pending
    dashed: bool = False


def burn_down_points(now: int, balance: int, rate: int, horizon: int) -> tuple[tuple[int, int], ...]:
    """Balance over time at a constant rate: a straight line to zero at depletion, or flat (R16, R18)."""
    if rate <= 0 or balance <= 0:
        return ((now, balance), (now + horizon, balance))
    end = now + balance // rate
    if end - now > horizon:
        return ((now, balance), (now + horizon, balance - rate * horizon))
    # what is left at depletion is less than one second of rent (R18): the line ends at ~0
    return ((now, balance), (max(end, now + 1), balance - rate * (end - now)))


#: ticks in one iSC (1 milli-iSC = 31,557,600 ticks)
TICKS_PER_ISC = 31_557_600_000


def round_up(ticks: int) -> int:
    """The smallest round amount at or above ticks (1, 2, 2.5 or 5 × a power of ten iSC, or of milli-iSC below
    1 iSC), so the axis reads 0, 50, 100 rather than 0, 48.672, 97.345. Its half is labelled too, so it is
    a whole number of milli-iSC: a balance near zero reads 0, 0.001, 0.002, never 0, 0, 0.001."""
    unit = TICKS_PER_ISC // 1000  # a milli-iSC
    step = unit
    while True:
        for factor_num, factor_den in ((1, 1), (2, 1), (5, 2), (5, 1)):
            candidate = step * factor_num // factor_den
            if candidate >= ticks and candidate * factor_den == step * factor_num and candidate % (2 * unit) == 0:
                return candidate
        step *= 10


def render_burn_down(
    series: Sequence[Series],
    *,
    format_amount: Callable[[int], str],
    format_time: Callable[[int], str],
    title: str,
    empty_text: str = "",
) -> str:
    """An accessible SVG of balance against time for each series, with axes and a legend."""
    points = [p for s in series for p in s.points]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    if not any(b for _, b in points):  # nothing, or a flat zero: no axis of made-up amounts, the empty state says why
        out.append(f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle" class="axis">{escape(empty_text)}</text></svg>')
        return "".join(out)
    t0 = min(t for t, _ in points)
    t1 = max(t for t, _ in points)
    t1 = max(t1, t0 + 1)
    top = round_up(max(max(b for _, b in points), 1))
    # every line spans the chart: after its credit ends a balance stays where it is (the remainder, R18)
    series = [Series(s.name, s.points + ((t1, s.points[-1][1]),) if s.points and s.points[-1][0] < t1 else s.points,
                     s.css, s.dashed) for s in series]

    def x(t: int) -> int:
        return LEFT + (t - t0) * plot_w // (t1 - t0)

    def y(b: int) -> int:
        return TOP + plot_h - max(b, 0) * plot_h // top

    # grid and y labels: 0, half, top
    for frac_num in (0, 1, 2):
        value = top * frac_num // 2
        yy = y(value)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{yy}" x2="{WIDTH - RIGHT}" y2="{yy}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{yy + 4}" text-anchor="end">{escape(format_amount(value))}</text>')
    # x labels: start, middle, end
    for t, anchor in ((t0, "start"), ((t0 + t1) // 2, "middle"), (t1, "end")):
        out.append(f'<text class="axis" x="{x(t)}" y="{HEIGHT - 10}" text-anchor="{anchor}">{escape(format_time(t))}</text>')
    out.append(f'<line class="axis-line" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>')
    for s in series:
        if not s.points:
            continue
        path = " ".join(f"{x(t)},{y(b)}" for t, b in s.points)
        dash = ' stroke-dasharray="7 5"' if s.dashed else ""
        out.append(f'<polyline class="line {escape(s.css)}" points="{path}" fill="none"{dash}>'
                   f'<title>{escape(s.name)}</title></polyline>')
    # legend
    lx = LEFT + 8
    for s in series:
        if not s.points:
            continue
        dash = ' stroke-dasharray="7 5"' if s.dashed else ""
        out.append(f'<line class="line {escape(s.css)}" x1="{lx}" y1="12" x2="{lx + 22}" y2="12"{dash}/>')
        out.append(f'<text class="legend" x="{lx + 28}" y="16">{escape(s.name)}</text>')
        lx += 44 + 8 * len(s.name)
    out.append("</svg>")
    return "".join(out)
