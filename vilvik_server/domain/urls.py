"""The API's URL scheme: every absolute URL a body or a webhook carries is built here."""
from urllib.parse import urlencode

PREFIX = "/api/v1"


def api_url(public_url, path, **query):
    """An absolute URL under PUBLIC_URL/api/v1, with `query` as its query string."""
    base = public_url + PREFIX + path
    return f"{base}?{urlencode(query)}" if query else base


def status_url(public_url, submission_id):
    return api_url(public_url, f"/submissions/{submission_id}")


def result_url(public_url, submission_id):
    """The result of a submission, found by its submission id (GET /results?submission_id=)."""
    return api_url(public_url, "/results", submission_id=submission_id)


def result_by_id_url(public_url, result_id):
    return api_url(public_url, f"/results/{result_id}")
