"""Cursor-paginated lists that fetch the next page only when iteration reaches it.

    for submission in client.submissions.list(status="succeeded"):   # every page, lazily
    page = client.submissions.list(limit=10).first_page()             # one request
    for page in client.results.list().pages(): ...                    # page by page

The next page is asked for with `next_cursor` against this client's base URL, not by
following `next_url`: that URL is built from the server's PUBLIC_URL, which need not
be the address this client reaches the server at (a tunnel, a container, a test port).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Page:
    """One page of a list: its items (typed), whether more follow, and the cursor to them."""

    data: list
    has_more: bool = False
    next_cursor: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index]


class ListIterator:
    """A list endpoint with its filters; iterating it walks every page, newest first."""

    def __init__(self, client, path, params, build):
        self._client = client
        self._path = path
        self._params = {name: value for name, value in (params or {}).items() if value is not None}
        self._build = build

    def __repr__(self):
        return f"<ListIterator {self._path} {self._params}>"

    def _fetch(self, cursor):
        params = dict(self._params)
        if cursor is not None:
            params["cursor"] = cursor
        body = self._client.request_json("GET", self._path, params=params)
        return Page(data=[self._build(item) for item in body.get("data", [])],
                    has_more=bool(body.get("has_more")), next_cursor=body.get("next_cursor"), raw=body)

    def first_page(self):
        """Only the first page (one request); `.has_more` and `.next_cursor` say what follows."""
        return self._fetch(None)

    def pages(self):
        """Every page in turn, each fetched when the previous one has been consumed."""
        cursor = None
        seen = set()
        while True:
            page = self._fetch(cursor)
            yield page
            if not page.has_more or not page.next_cursor or page.next_cursor in seen:
                return
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def __iter__(self):
        for page in self.pages():
            yield from page.data

    auto_paging_iter = __iter__
