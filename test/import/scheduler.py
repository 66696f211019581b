"""An evaluator of EventBridge Scheduler cron() expressions, written from the documentation
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), for the tests:

- cron(minutes hours day-of-month month day-of-week year); fields take `*`, values, ranges `a-b`,
  lists `a,b`, increments `a/n` (a, a+n, ... up to the field's maximum) and `a-b/n`;
- day-of-week 1-7 with SUN=1; one of day-of-month and day-of-week is `?` (the other decides);
  `L` in day-of-month is the last day of the month, `nW` the weekday nearest day n (within the
  month), `LW` the last weekday; in day-of-week `L` is the last day of the week (SAT), `nL` the
  last day n of the month and `n#k` the k-th day n of the month;
- in a time zone, "when the time shifts forward in Spring, your schedule invocation gets skipped
  if the cron expression falls on a non-existent date and time. When the time shifts back in the
  Fall, your schedule runs only once and doesn't repeat its invocation" (the first pass).
"""
import calendar
import re
from datetime import date, datetime, timedelta, timezone

RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "dom": (1, 31),
    "month": (1, 12),
    "dow": (1, 7),
    "year": (1970, 2199),
}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _value(field, text):
    t = text.upper()
    if field == "month" and t in MONTHS:
        return MONTHS.index(t) + 1
    if field == "dow" and t in DAYS:
        return DAYS.index(t) + 1
    v = int(text)
    lo, hi = RANGES[field]
    if not lo <= v <= hi:
        raise ValueError(f"{field} value {v} outside {lo}-{hi}")
    return v


def parse_field(field, text):
    """The set of values of a numeric field (no ?, L, W, #)."""
    lo, hi = RANGES[field]
    values = set()
    for item in text.split(","):
        rng, _, step = item.partition("/")
        step = int(step) if step else 1
        if step < 1:
            raise ValueError("step < 1")
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a, b = (_value(field, x) for x in rng.split("-", 1))
        else:
            a = _value(field, rng)
            b = hi if step != 1 or "/" in item else a
        values.update(range(a, b + 1, step))
    return values


class Cron:
    def __init__(self, expression):
        m = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
        if not m:
            raise ValueError(f"not a cron() expression: {expression}")
        minutes, hours, dom, month, dow, year = m.groups()
        if (dom == "?") == (dow == "?"):
            raise ValueError("exactly one of day-of-month and day-of-week must be ?")
        self.minutes = sorted(parse_field("minutes", minutes))
        self.hours = sorted(parse_field("hours", hours))
        self.months = parse_field("month", month)
        self.years = parse_field("year", year)
        self.dom_kind, self.dom = self._dom(dom.upper())
        self.dow_kind, self.dow = self._dow(dow.upper())

    @staticmethod
    def _dom(text):
        if text == "?":
            return "any", None
        if text == "L":
            return "last", None
        if text == "LW":
            return "last_weekday", None
        if text.endswith("W"):
            return "nearest_weekday", _value("dom", text[:-1])
        return "set", parse_field("dom", text)

    @staticmethod
    def _dow(text):
        if text == "?":
            return "any", None
        if text == "L":
            return "set", {7}
        if text.endswith("L"):
            return "last_of", _value("dow", text[:-1])
        if "#" in text:
            day, k = text.split("#")
            return "nth", (_value("dow", day), int(k))
        return "set", parse_field("dow", text)

    @staticmethod
    def _weekday(d: date) -> int:
        return (d.isoweekday() % 7) + 1  # SUN=1 ... SAT=7

    @staticmethod
    def _nearest_weekday(year, month, target):
        """Quartz's W: the Monday-Friday nearest `target`, never leaving the month."""
        last = calendar.monthrange(year, month)[1]
        target = min(target, last)
        d = date(year, month, target)
        if d.weekday() == 5:  # Saturday
            return target - 1 if target > 1 else target + 2
        if d.weekday() == 6:  # Sunday
            return target + 1 if target < last else target - 2
        return target

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months or d.year not in self.years:
            return False
        last = calendar.monthrange(d.year, d.month)[1]
        if self.dom_kind == "set":
            return d.day in self.dom
        if self.dom_kind == "last":
            return d.day == last
        if self.dom_kind == "last_weekday":
            return d.day == self._nearest_weekday(d.year, d.month, last)
        if self.dom_kind == "nearest_weekday":
            return d.day == self._nearest_weekday(d.year, d.month, self.dom)
        wd = self._weekday(d)
        if self.dow_kind == "set":
            return wd in self.dow
        if self.dow_kind == "last_of":
            return wd == self.dow and d.day + 7 > last
        day, k = self.dow
        return wd == day and (d.day - 1) // 7 + 1 == k

    def fire_times(self, start: datetime, tz, count: int, until_year: int = 2200):
        """The next `count` fire instants (aware, UTC) strictly after `start`."""
        out = []
        day = start.astimezone(tz).date() - timedelta(days=1)
        while len(out) < count and day.year < until_year:
            if self.day_matches(day):
                for h in self.hours:
                    for mi in self.minutes:
                        naive = datetime(day.year, day.month, day.day, h, mi)
                        first = naive.replace(tzinfo=tz, fold=0)
                        instant = first.astimezone(timezone.utc)
                        # A local time that does not exist does not round-trip: skipped.
                        if instant.astimezone(tz).replace(tzinfo=None) != naive:
                            continue
                        # A repeated local time (fold) fires once, in its first pass.
                        if instant > start:
                            out.append(instant)
            day += timedelta(days=1)
        out.sort()
        return out[:count]
