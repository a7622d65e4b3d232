"""FHIR R4 date search (§3.1.1.4.2 "date"): a prefix, then a date of some precision.

A query value is a range (`2024` is the whole year, `2024-08-30` the whole day, a full time one
second, or one millisecond when given); a resource's `meta.lastUpdated` is an instant compared
with that range as FHIR says: `eq` inside, `ne` outside, `gt` after its end, `ge` from its start,
`lt` before its start, `le` before its end. A time without zone is read as UTC (the ANS
documentation: "_lastUpdated=lt2022-12-15T15:00:00 : avant le 15 décembre 2022 15h (GMT)").
`sa`, `eb` and `ap` are refused: the Annuaire santé CapabilityStatement documents gt, ge and eq
for `_lastUpdated`, its documentation pages eq, ne, gt, lt, ge, le.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le")
_DATE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
                   r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
                   r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$")


class DateQueryError(ValueError):
    """A date query the server cannot read; the message says why."""


def _zone(text: str | None):
    if text in (None, "Z"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def query_range(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a FHIR date value at its own precision."""
    match = _DATE.match(text)
    if not match:
        raise DateQueryError("a date is yyyy, yyyy-MM, yyyy-MM-dd or yyyy-MM-ddThh:mm[:ss[.fff]][Z|+hh:mm]")
    parts = match.groupdict()
    try:
        start = datetime(int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
                         int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
                         tzinfo=_zone(parts["zone"]))
    except ValueError as error:
        raise DateQueryError(f"not a real date ({error})") from error
    if parts["fraction"]:
        start += timedelta(microseconds=int(parts["fraction"][:6].ljust(6, "0")))
        return start, start + timedelta(milliseconds=1)
    if parts["hour"] is not None:
        step = timedelta(seconds=1) if parts["second"] else timedelta(minutes=1)
        return start, start + step
    if parts["day"]:
        return start, start + timedelta(days=1)
    return start, _add_months(start, 1 if parts["month"] else 12)


def date_predicate(value: str) -> Callable[[datetime], bool]:
    """A test of an instant against one `_lastUpdated` value such as `ge2024-08-30`."""
    prefix = value[:2] if value[:2].isalpha() else "eq"
    if prefix not in PREFIXES:
        raise DateQueryError(f"prefix {prefix!r} is not supported (use one of {', '.join(PREFIXES)})")
    start, end = query_range(value[2:] if value[:2].isalpha() else value)
    tests = {
        "eq": lambda t: start <= t < end,
        "ne": lambda t: not start <= t < end,
        "gt": lambda t: t >= end,
        "ge": lambda t: t >= start,
        "lt": lambda t: t < start,
        "le": lambda t: t < end,
    }
    return tests[prefix]


def parse_instant(text: str) -> datetime:
    """A resource's `meta.lastUpdated` (always with a zone) as an aware datetime."""
    return datetime.fromisoformat(text)
