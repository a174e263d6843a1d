"""The signed pieces the rollup readers cut a range into (pure Python, no database): whatever
the netting does, the pieces must still add up to exactly the range, and no day's sums may be
read twice."""

import datetime as dt
import itertools

import pytest

from reporting import rollup_selectors
from reporting.rollup_selectors import _entity_pieces, _net

UTC = dt.UTC
DAY = dt.timedelta(days=1)
DATA = (dt.date(2026, 1, 1), dt.date(2026, 1, 20))  # first and last day with alerts
DATA_START = dt.datetime(2026, 1, 1, tzinfo=UTC)
DATA_END = dt.datetime(2026, 1, 21, tzinfo=UTC)


def weight(pieces, moment: dt.datetime) -> int:
    """How many times an alert received at ``moment`` is counted by ``pieces``."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    total = 0
    for sign, kind, lo, hi in pieces:
        if kind == "total":
            total += sign
        elif kind == "sums":  # whole days
            total += sign * ((lo is None or lo <= day) and (hi is None or day < hi))
        else:  # live, to the microsecond
            total += sign * ((lo is None or lo <= moment) and (hi is None or moment < hi))
    return total


def assert_exact(pieces, start, end):
    moment = DATA_START
    while moment < DATA_END:  # every 7 minutes: hits every hour of every day at varying offsets
        assert weight(pieces, moment) == (1 if start <= moment < end else 0), (moment, pieces)
        moment += dt.timedelta(minutes=7)
    sums = sorted(((lo or dt.datetime.min.replace(tzinfo=UTC)), (hi or dt.datetime.max.replace(tzinfo=UTC)))
                  for _, kind, lo, hi in pieces if kind == "sums")
    assert all(a_hi <= b_lo for (_, a_hi), (b_lo, _) in itertools.pairwise(sums)), pieces  # no day twice
    assert not [p for p in pieces if p[1] == "live" and p[2] == p[3]], pieces  # no empty live range


RANGES = [
    (DATA_START - 40 * DAY + dt.timedelta(hours=20, minutes=55), DATA_END - DAY + dt.timedelta(hours=20, minutes=55)),
    (DATA_START - 40 * DAY, DATA_END - DAY + dt.timedelta(hours=3)),  # short last day
    (DATA_START + 2 * DAY + dt.timedelta(hours=3), DATA_END - 3 * DAY + dt.timedelta(hours=21)),
    (DATA_START + 2 * DAY + dt.timedelta(hours=21), DATA_END - 3 * DAY + dt.timedelta(hours=2)),
    (DATA_START + 9 * DAY + dt.timedelta(hours=21), DATA_START + 10 * DAY + dt.timedelta(hours=2)),
    (DATA_START + 5 * DAY + dt.timedelta(hours=1), DATA_START + 5 * DAY + dt.timedelta(hours=23)),
    (DATA_START + 4 * DAY, DATA_START + 9 * DAY),  # whole days
    (DATA_START - 10 * DAY, DATA_END + 10 * DAY),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_entity_pieces_add_up_to_the_range_and_read_each_day_once(start, end, monkeypatch):
    monkeypatch.setattr(rollup_selectors, "_data_days", lambda: DATA)
    assert_exact(_entity_pieces(start, end), start, end)


def test_a_range_ending_today_does_not_read_todays_sums():
    # What the all-time form gave before netting: today's sums added and subtracted again.
    today = dt.datetime(2026, 1, 20, tzinfo=UTC)
    end = today + dt.timedelta(hours=20)
    first = dt.datetime(2025, 11, 22, tzinfo=UTC)
    raw = [(1, "sums", today, today + DAY), (-1, "live", today, today), (-1, "live", end, today + DAY),
           (1, "total", None, None), (-1, "sums", None, first), (-1, "sums", today, None)]
    assert sorted(_net(raw), key=str) == sorted(
        [(-1, "live", end, today + DAY), (1, "total", None, None), (-1, "sums", None, first),
         (-1, "sums", today + DAY, None)], key=str)
