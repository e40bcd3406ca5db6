"""Charts drawn on the server as inline SVG: no library and no script (the CSP allows none).

A chart is a few daily series on one scale, each drawn as bars (what happened that day) or a
line (what there was at the end of the day). The SVG stretches to its box (viewBox,
`preserveAspectRatio="none"`, strokes that do not scale), so it fits a phone; its words (the
scale, the first and last day, the legend) are HTML around it, and its figures are a table.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.money import format_money

WIDTH, HEIGHT = 900, 200  # the viewBox; the page decides the size on screen
BAR_SHARE = 0.8  # of each day's slot; the rest is the gap between days


@dataclass
class Series:
    label: str
    values: list[int]
    shape: str = "bars"  # or "line"


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass
class Chart:
    key: str
    title: str
    definition: str
    days: list[date]
    series: list[Series]
    currency: str | None = None  # money in minor units, or None for counts
    headline: str = ""
    unit: str = ""  # for counts: "days"
    locale: str = "en_GB"

    def fmt(self, value: int) -> str:
        """A value as the page shows it: money in its currency, counts as they are."""
        if self.currency is not None:
            return format_money(value, self.currency, self.locale)
        return f"{value:,}" + (f" {self.unit}" if self.unit else "")

    @property
    def empty(self) -> bool:
        """Nothing happened and nothing was there, on any day: the page says so."""
        return not any(v for s in self.series for v in s.values)

    @property
    def top(self) -> int:
        """The top of the scale: the largest value rounded up to 1, 2 or 5 × 10ⁿ."""
        largest = max((v for s in self.series for v in s.values), default=0)
        if largest <= 0:
            return 1 if self.currency is None else 100
        power = 10 ** math.floor(math.log10(largest))
        return next(step * power for step in (1, 2, 5, 10) if step * power >= largest)

    def _y(self, value: int) -> float:
        return round(HEIGHT - HEIGHT * max(value, 0) / self.top, 2)

    @property
    def slot(self) -> float:
        return WIDTH / max(len(self.days), 1)

    def bars(self) -> list[tuple[int, list[Bar]]]:
        """(series number, its bars) for each bar series, side by side within a day."""
        drawn = [(i, s) for i, s in enumerate(self.series) if s.shape == "bars"]
        if not drawn:
            return []
        width = self.slot * BAR_SHARE / len(drawn)
        result = []
        for k, (i, s) in enumerate(drawn):
            left = self.slot * (1 - BAR_SHARE) / 2 + k * width
            result.append((i, [Bar(round(d * self.slot + left, 2), self._y(v), round(width, 2),
                                   round(HEIGHT - self._y(v), 2))
                               for d, v in enumerate(s.values) if v > 0]))
        return result

    def lines(self) -> list[tuple[int, str]]:
        """(series number, its polyline's points) for each line series."""
        return [(i, " ".join(f"{round((d + 0.5) * self.slot, 2)},{self._y(v)}"
                             for d, v in enumerate(s.values)))
                for i, s in enumerate(self.series) if s.shape == "line"]

    @property
    def gridlines(self) -> list[float]:
        return [HEIGHT * q / 4 for q in range(4)]

    def rows(self) -> list[tuple[date, list[str]]]:
        """The table behind the chart: each day, newest first, with each series' value."""
        return [(day, [self.fmt(s.values[d]) for s in self.series])
                for d, day in reversed(list(enumerate(self.days)))]

    def total(self, index: int) -> int:
        return sum(self.series[index].values)


def per_currency(title: str, by_currency: dict[str, list[int]], default: str,
                 make: Callable[[str, str], Chart]) -> list[Chart]:
    """One chart per currency (named in the title when there is more than one)."""
    currencies = sorted(by_currency) or [default]
    many = len(currencies) > 1
    return [make(currency, f"{title} ({currency.upper()})" if many else title)
            for currency in currencies]
