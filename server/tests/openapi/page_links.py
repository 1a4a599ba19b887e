"""Collect the URLs that an HTML page loads or links to."""

from __future__ import annotations

from html.parser import HTMLParser


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset"} and value is not None:
                self.urls.append(value)


def page_urls(html: str) -> list[str]:
    """Return every `src`, `href`, `action` and `srcset` value in `html`."""
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    return collector.urls
