"""HTML to PDF through WeasyPrint (Debian's Pango/HarfBuzz do the layout), with a URL fetcher that
serves only the project's own static stylesheets and refuses everything else.

Why refuse: the report carries attacker-controlled text (alert titles, observables, notes). Notes
are sanitized markdown and nothing in the report should point anywhere, but should a link to a
stylesheet, image or font ever slip into the HTML, WeasyPrint's default fetcher would open it
from the server: a server-side request to the Internet, the cloud metadata address or a local
file (file:///etc/...). Here nothing leaves the process: no socket, no file outside the static
files."""

from __future__ import annotations

import logging
import posixpath
from urllib.parse import unquote, urljoin, urlsplit

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.templatetags.static import static
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)
# WeasyPrint's per-step INFO lines ("weasyprint.progress") are silenced in settings.LOGGING; its
# warnings (CSS it ignores, refused URLs) still show.

# The origin the report's relative URLs resolve against when rendered to PDF. ".invalid" never
# resolves (RFC 2606): even a fetcher bug could not reach a real host through it.
REPORT_BASE_URL = "https://soar-report.invalid/"
# Only stylesheets: the report needs nothing else, and fonts or images are not worth the risk.
SERVED_SUFFIXES = (".css",)


class FetchRefused(ValueError):
    """A URL the report's PDF may not load (WeasyPrint logs it and renders without it)."""


class StaticOnlyFetcher(URLFetcher):
    """Serves ``<REPORT_BASE_URL><STATIC_URL><name>.css`` from the static files; refuses any
    other URL (other hosts, schemes, file: and data: URLs, paths outside the static files) without
    opening it. ``refused`` lists what was refused (tests, logs)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []
        self.served: list[str] = []
        self._static_base = urljoin(REPORT_BASE_URL, static(""))

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        name = self._static_name(url)
        path = self._find(name) if name else None
        if path is None:
            self.refused.append(url)
            logger.warning("case report PDF: refused to fetch %s", url[:200])
            raise FetchRefused(f"Not a static stylesheet of the project: {url[:200]}")
        with open(path, "rb") as handle:
            body = handle.read()
        self.served.append(name)
        return URLFetcherResponse(url, body, {"Content-Type": "text/css; charset=utf-8"})

    def _static_name(self, url: str) -> str:
        """The static file name the URL points at, or "" when it is not one we serve."""
        if not url.startswith(self._static_base):
            return ""
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            return ""
        name = unquote(url[len(self._static_base):].split("?")[0])
        normalized = posixpath.normpath(name)
        if (normalized != name or name.startswith(("/", ".")) or "\\" in name or "\x00" in name
                or not name.endswith(SERVED_SUFFIXES)):
            return ""
        return name

    @staticmethod
    def _find(name: str) -> str | None:
        """The file on disk: the app's static directories (finders), else collectstatic's copy."""
        found = finders.find(name)
        if isinstance(found, str):
            return found
        if staticfiles_storage.exists(name):
            return str(staticfiles_storage.path(name))
        return None


def render_document(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> Document:
    """The laid-out pages of ``html`` (print media: report.css's @page rules), its relative URLs
    resolved against REPORT_BASE_URL and fetched by ``fetcher`` (a new StaticOnlyFetcher by default)."""
    return HTML(string=html, base_url=REPORT_BASE_URL, url_fetcher=fetcher or StaticOnlyFetcher(),
                media_type="print").render()


def html_to_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """The PDF of ``html`` (see ``render_document``)."""
    pdf = render_document(html, fetcher=fetcher).write_pdf()
    assert pdf is not None  # noqa: S101 - write_pdf returns the bytes when given no target
    return pdf
