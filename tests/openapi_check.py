"""Every API response the tests see is checked against the server's own OpenAPI document.

openapi-core validates the status (it must be declared for the operation; only a 500
may fall to `default`), the headers and the body of each response to /api/v1; a response
to a URL that is no operation (an unknown route, a wrong method) must still be the
documented ErrorResponse. The Flask test client and the live servers' requests sessions
both pass their responses here.
"""
import json
import re
from urllib.parse import urlsplit

from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIResponse
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_schema_validator import OAS30Validator

PREFIX = "/api/v1"
NOT_OPERATIONS = (f"{PREFIX}/openapi.json", f"{PREFIX}/docs")
STREAMS = ("text/event-stream",)


def server_path(document):
    """The path of the document's one server (`/api/v1`): its `paths` are relative to it."""
    (server,) = document["servers"]
    return urlsplit(server["url"]).path.rstrip("/")


def path_item(document, url_path):
    """The document's entry for a URL path as a client sends it (`/api/v1/submissions`): the server's
    path joined with a key of `paths` must give that URL."""
    base = server_path(document)
    assert url_path.startswith(base + "/"), f"{url_path} is not under the document's server {base}"
    return document["paths"][url_path[len(base):]]


class DocumentCheck:
    """The document of one server, and the check of one response against it."""

    def __init__(self, document):
        self.document = document
        self._openapi = {}   # per server address (a restarted server may serve on another port)
        components = self.document["components"]
        self.error_validator = OAS30Validator({**components["schemas"]["ErrorResponse"], "components": components})

    def check(self, path, method, status, content_type, body_bytes, request, response):
        """Raise AssertionError when the response breaks the document."""
        if not path.startswith(PREFIX) or path.startswith(NOT_OPERATIONS):
            return
        if method.upper() == "OPTIONS" and status == 204:
            return   # the server's answer on every route (docs/overview.md), no operation of the document
        head = method.upper() == "HEAD"   # answered as GET without a body
        method = "GET" if head else method
        try:
            operation = self._operation(path, method)
        except PathError:
            operation = None
        if operation is None:
            assert status >= 400, f"{method} {path}: {status} from a URL that is no operation"
            self.error_validator.validate(json.loads(body_bytes))
            return
        declared = set(operation["responses"])
        assert str(status) in declared or status == 500, (
            f"{method.upper()} {path} answered {status}, which its operation does not declare ({sorted(declared)})")
        if content_type != "application/json" or head:
            # a stream is read by the test itself, a CSV is text: their status and type are checked here
            response_doc = operation["responses"].get(str(status))
            if response_doc is not None and "$ref" not in response_doc and status != 204:
                assert content_type in response_doc.get("content", {}), (
                    f"{method.upper()} {path} {status}: {content_type} is not declared")
            return
        if request.host_url not in self._openapi:
            servers = [{"url": request.host_url + server_path(self.document)}]   # the relative server, on this host
            self._openapi[request.host_url] = OpenAPI.from_dict(dict(self.document, servers=servers))
        result = self._openapi[request.host_url].unmarshal_response(request, response)
        if result.errors:
            raise AssertionError(f"{method.upper()} {path} {status} breaks the document: "
                                 f"{[str(e) for e in result.errors]}; {body_bytes[:2000]!r}")

    def _operation(self, path, method):
        base = server_path(self.document)
        for template, item in self.document["paths"].items():
            template = base + template
            pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template))
            if re.fullmatch(pattern, path):
                if method.lower() not in item:
                    return None
                return item[method.lower()]
        raise PathError(path)


class _Request:
    """What openapi-core needs of the request to find the response's operation (never its body)."""

    def __init__(self, host_url, path, method):
        self.host_url, self.path, self.method = host_url.rstrip("/"), path, method.lower()
        self.parameters = RequestParameters()
        self.body, self.content_type = None, "application/json"


def check_flask_response(app, response):
    """Check a Flask test client's response (the document is fetched once per app)."""
    request = response.request
    if not request.path.startswith(PREFIX) or request.path.startswith(NOT_OPERATIONS):
        return
    check = app.extensions.get("test_openapi_check")
    if check is None:
        document = app.test_client().get(f"{PREFIX}/openapi.json").get_json()
        check = app.extensions["test_openapi_check"] = DocumentCheck(document)
    streaming = response.mimetype in STREAMS
    body = b"" if streaming else response.get_data()
    check.check(request.path, request.method, response.status_code, response.mimetype, body,
                _Request(request.host_url, request.path, request.method), WerkzeugOpenAPIResponse(response))


def requests_hook(document_check):
    """A requests response hook checking each response of a live server's session."""
    def hook(response, *args, **kwargs):
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        streaming = content_type in STREAMS
        body = b"" if streaming else response.content
        url = urlsplit(response.request.url)
        document_check.check(url.path, response.request.method, response.status_code, content_type, body,
                             _Request(f"{url.scheme}://{url.netloc}", url.path, response.request.method),
                             RequestsOpenAPIResponse(response))
        return response
    return hook
