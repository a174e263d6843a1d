"""Page-number pagination without COUNT over the whole table or deep scans: fetch one extra
row to know whether a next page exists, and count at most CAP rows for the header."""

from __future__ import annotations

from dataclasses import dataclass

CAP = 10_000


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    has_next: bool
    total: int
    total_capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def paginate(queryset, page_param, per_page: int = 50, max_page: int = CAP // 10) -> Page:
    try:
        number = max(1, min(int(page_param or 1), max_page))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset[offset:offset + per_page + 1])
    has_next = len(rows) > per_page
    if not has_next and (rows or number == 1):
        # The last page: every page before it was full, so the total is known without counting
        # (a filtered queue, e.g. a search, usually fits on one page: its query is not run twice).
        total = offset + len(rows)
    else:
        total = queryset.order_by()[:CAP + 1].count()  # bounded: fast even at millions of rows
    return Page(items=rows[:per_page], number=number, per_page=per_page, has_next=has_next,
                total=min(total, CAP), total_capped=total > CAP)
