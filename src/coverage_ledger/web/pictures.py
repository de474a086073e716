"""SVG drawings of the pages, computed here (no script, nothing fetched): a ratio series, and the
bitemporal picture of a person, valid time across and known time up, each event a rectangle."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any

from coverage_ledger.domain.months import Month
from coverage_ledger.web.labels import percent

WIDTH, HEIGHT, MARGIN = 720, 260, 40
BOTTOM = HEIGHT - MARGIN
AXIS_X = f'<line x1="{MARGIN}" y1="{BOTTOM}" x2="{WIDTH - MARGIN}" y2="{BOTTOM}" class="axis-line"/>'
AXIS_Y = f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{BOTTOM}" class="axis-line"/>'
COLOURS = {
    "officer.enrolled": "#2b6cb0",
    "informal.enrolled": "#2f855a",
    "contribution.paid": "#68d391",
    "membership.reactivated": "#d69e2e",
    "claim.filed": "#c53030",
}


def _colour(event_type: str) -> str:
    return COLOURS.get(event_type, "#718096")


def _svg(label: str, body: str) -> str:
    opening = f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" class="chart">'
    return f"{opening}{body}</svg>"


def _text(x: float, y: float, words: str) -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" class="axis">{escape(words)}</text>'


def series_svg(points: Sequence[tuple[date, float | None]], *, label: str, language: str = "en") -> str:
    """A line of ratios (fractions) by date; gaps where no potential is known."""
    known = [r for _, r in points if r is not None]
    top = max([*known, 0.0001]) * 1.1
    step = (WIDTH - 2 * MARGIN) / max(1, len(points) - 1)
    coords: list[str] = []
    marks: list[str] = []
    for index, (day, ratio) in enumerate(points):
        x = MARGIN + index * step
        if index % max(1, len(points) // 6) == 0:
            marks.append(_text(x, HEIGHT - 8, f"{day:%Y-%m}"))
        if ratio is None:
            continue
        y = BOTTOM - (ratio / top) * (HEIGHT - 2 * MARGIN)
        coords.append(f"{x:.1f},{y:.1f}")
        title = f"<title>{day.isoformat()}: {percent(ratio, language)}</title>"
        marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3">{title}</circle>')
    line = f'<polyline points="{" ".join(coords)}" class="series"/>' if coords else ""
    return _svg(label, AXIS_X + _text(4, MARGIN, percent(top, language)) + line + "".join(marks))


@dataclass(frozen=True, slots=True)
class Rectangle:
    """An event in force over valid [valid_from, valid_to) during known [tx_from, tx_to)."""

    event_id: str
    type: str
    valid_from: date
    valid_to: date
    tx_from: int
    tx_to: int | None


def bitemporal_svg(rectangles: Sequence[Rectangle], *, head_tx: int, label: str) -> str:
    """Valid time across, known time (tx) up; an event still in force reaches the top."""
    if not rectangles:
        return _svg(label, "")
    first = min(r.valid_from for r in rectangles) - timedelta(days=7)
    last = max(r.valid_to for r in rectangles) + timedelta(days=7)
    low, high = min(r.tx_from for r in rectangles) - 1, head_tx + 1
    days = max(1, (last - first).days)

    def x(day: date) -> float:
        return MARGIN + (day - first).days / days * (WIDTH - 2 * MARGIN)

    def y(tx: int) -> float:
        return BOTTOM - (tx - low) / max(1, high - low) * (HEIGHT - 2 * MARGIN)

    shapes = []
    # memberships first and faint, so the payments and terms inside them stay visible
    for r in sorted(rectangles, key=lambda r: r.type != "informal.enrolled"):
        top = y(r.tx_to if r.tx_to is not None else high)
        width, height = max(2.0, x(r.valid_to) - x(r.valid_from)), max(2.0, y(r.tx_from) - top)
        until = r.tx_to if r.tx_to is not None else "now"
        title = f"{r.event_id} ({r.type}): {r.valid_from} – {r.valid_to}, tx {r.tx_from} – {until}"
        shapes.append(
            f'<rect x="{x(r.valid_from):.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{_colour(r.type)}" class="event {r.type.replace(".", "-")}" '
            f'data-event="{escape(r.event_id)}">'
            f"<title>{escape(title)}</title></rect>"
        )
    axis = (
        AXIS_X
        + AXIS_Y
        + _text(MARGIN, HEIGHT - 8, first.isoformat())
        + _text(WIDTH - MARGIN - 70, HEIGHT - 8, last.isoformat())
        # (one label when every event entered in the head tx: not the same tx at both ends)
        + (_text(2, BOTTOM, f"tx {low + 1}") if low + 1 < head_tx else "")
        + _text(2, MARGIN, f"tx {head_tx}")
    )
    legend = "".join(
        f'<rect x="{WIDTH - 200}" y="{8 + 14 * i}" width="10" height="10" fill="{_colour(kind)}"/>'
        + _text(WIDTH - 185, 17 + 14 * i, kind)
        for i, kind in enumerate(sorted({r.type for r in rectangles}))
    )
    return _svg(label, axis + "".join(shapes) + legend)


def rectangles_of(events: list[dict[str, Any]], *, until: date) -> list[Rectangle]:
    """The person's events with a valid period, one rectangle per interval of force."""
    shapes = []
    for event in events:
        payload = event["payload"]
        period = _valid_period(event["type"], payload, until)
        if period is None:
            continue
        for interval in event["in_force"]:
            shapes.append(
                Rectangle(
                    event["event_id"],
                    event["type"],
                    period[0],
                    period[1],
                    interval["tx_from"],
                    interval["tx_to"],
                )
            )
    return shapes


def _valid_period(event_type: str, payload: dict[str, Any], until: date) -> tuple[date, date] | None:
    """The valid-time period an event is drawn over (a membership's runs to `until`); None: not drawn."""
    if event_type == "officer.enrolled":
        return date.fromisoformat(payload["valid_from"]), date.fromisoformat(payload["valid_to"])
    if event_type == "informal.enrolled":
        start = date.fromisoformat(payload["valid_from"])
        return start, max(until, start)
    if event_type == "contribution.paid":
        return Month.parse(payload["months_from"]).first_day, Month.parse(payload["months_to"]).plus(
            1
        ).first_day
    day_field = {"membership.reactivated": "reactivated_on", "claim.filed": "incident_date"}.get(event_type)
    if day_field is None:
        return None
    day = date.fromisoformat(payload[day_field])
    return day, date.fromordinal(day.toordinal() + 1)
