"""The privacy notice: a Markdown file the operator may edit (``MOOC_PRIVACY_NOTICE_FILE``; the
shipped mooc/privacy/notice.vi.md by default), rendered and sanitised as lessons are, once per
version of the file (its path, size and modification time), never per request."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from mooc.caching import KeptCache, app_cache
from mooc.config import settings
from mooc.courses.render import render

SHIPPED = Path(__file__).resolve().parent / "notice.vi.md"


def path() -> Path:
    return settings().privacy_notice_file or SHIPPED


def html() -> Markup:
    source = path()
    stat = source.stat()

    def rendered() -> Markup:
        return Markup(render(source.read_text(encoding="utf-8")).html)  # noqa: S704 (sanitised by nh3)

    return app_cache("mooc.privacy_notice", lambda: KeptCache(4)).get(
        (str(source), stat.st_size, stat.st_mtime_ns), rendered)
