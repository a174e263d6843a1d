from rest_framework.pagination import CursorPagination


class CaseCursorPagination(CursorPagination):
    """Keyset pagination: page N costs the same as page 1 at 100k+ cases (no OFFSET/COUNT)."""

    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(CaseCursorPagination):
    ordering = "-id"
