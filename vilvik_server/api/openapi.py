"""How the OpenAPI document (/api/v1/openapi.json) describes each operation.

The conventions every endpoint follows (new ones too):

- Every blueprint is this module's `Blueprint`, and every view carries
  ``@operation("verb_noun", *error_classes)`` (it refuses to register without): a short, stable
  operationId (`create_submission`, `list_results`, `rotate_webhook_secret`) that generated
  clients turn into function names; never rename one. Verbs: create, get, list, update,
  delete, plus the action's own verb (cancel, continue, redeliver, rotate, send).
- Its error responses are derived, not listed by hand: every operation may answer 503
  (the database out of reach) and 500 (`default`); one with a key also 401 and 429; one
  with a scope 403; a POST or PATCH 400, 413 and 415; one with a body or query schema 422;
  an idempotent one 409 and 422. The classes given to ``operation`` add what the view and
  the service functions it calls raise themselves (NotFound, Conflict, ...); a test walks
  the code of every view to hold this list complete.
- Every error response is the one `ErrorResponse` schema; responses are named components
  (`NotFound`, `Unprocessable`, ...), each saying which codes it carries.
- Headers are declared: `X-Request-Id` on every response, `X-RateLimit-*` on those with a
  key, `Retry-After` on 409/429/503, `Idempotent-Replayed` and the `Idempotency-Key`
  request header on idempotent POSTs; a view adds its own (`Location`, `Prefer`).
- Schemas (schemas.py): response objects list every field they always send as `required`
  and allow additional properties (v1 grows additively); request bodies stay strict
  (unknown fields are refused) and carry an example that works as it stands. Closed sets of
  strings are named enum components; a set that grows (error codes, event types) is a plain
  string in responses, so an old generated client never fails on a new value. A field that may be null is `nullable` beside its
  `type`; a nullable union or reference is `anyOf: [..., {$ref: Null}]` (OpenAPI 3.0's
  `nullable` widens only a `type` in the same schema, so `allOf` + `nullable` would still
  refuse null). Times are `format: date-time`.
"""
import flask_smorest
from flask.views import MethodView
from flask_smorest.spec.plugins import FlaskPlugin

from .. import errors
from .arguments import ArgumentsParser


def ref(name):
    """A reference to a named schema of the document."""
    return {"$ref": f"#/components/schemas/{name}"}


NULL = ref("Null")
NULL_SCHEMA = {"nullable": True, "enum": [None], "description": "null"}
_ANNOTATIONS = ("description", "default", "example")


def or_null(schema):
    """`schema`, or null: `nullable` beside a plain `type`, else a union with the Null schema."""
    schema = {k: v for k, v in schema.items() if k != "nullable"}
    if "type" in schema and not {"allOf", "anyOf", "oneOf", "$ref"} & set(schema):
        return {**schema, "nullable": True}
    annotations = {k: schema.pop(k) for k in _ANNOTATIONS if k in schema}
    if set(schema) == {"anyOf"}:
        choices = [item for item in schema["anyOf"] if item != {"type": "object", "nullable": True}]
    elif set(schema) == {"allOf"} and len(schema["allOf"]) == 1:
        choices = schema["allOf"]
    else:
        choices = [schema]
    return {**annotations, "anyOf": [*choices, NULL]}


def field2openapi(self, field, ret, **_):
    """apispec attribute function: a field's `openapi` metadata is its schema (a union, a named
    enum), and a field that allows None is written as `or_null` says."""
    raw = field.metadata.get("openapi")
    nullable = field.allow_none or ret.get("nullable", False)
    if raw is not None:
        kept = {k: ret[k] for k in _ANNOTATIONS if k in ret}
        ret.clear()
        ret.update(kept)
        ret.update(raw)
    if nullable:
        schema = or_null(ret)
        ret.clear()
        ret.update(schema)
    if "default" in ret and ret["default"] is None and not nullable:
        del ret["default"]   # a query parameter left out is not a null one
    return {}

DATABASE_UNAVAILABLE = errors.Unavailable

# One response component per error status: its name, and what it says.
ERROR_RESPONSES = {
    400: ("InvalidJson", "`invalid_json`: the body is not valid JSON."),
    401: ("Unauthenticated", "`unauthenticated`: no key, or a malformed, unknown or revoked one."),
    402: ("InsufficientCredits", "`insufficient_credits`: the run's reservation does not fit the available "
                                 "balance."),
    403: ("InsufficientScope", "`insufficient_scope`: the key lacks the scope named in `details.required_scope`."),
    404: ("NotFound", "`not_found`: no such object for this account."),
    409: ("Conflict", "`conflict`: the object's state forbids it (`details.status`), or a request with the same "
                      "Idempotency-Key is still being processed (see Retry-After)."),
    413: ("PayloadTooLarge", "`payload_too_large`: the body is larger than the server's MAX_BODY_BYTES."),
    415: ("UnsupportedMediaType", "`unsupported_media_type`: a body that is not `application/json`."),
    422: ("Unprocessable", "`validation_error` (a field is missing, unknown, of the wrong type or out of range: "
                           "`param` names the first, `details.fields` every one), `quota_exceeded` (more than a "
                           "ceiling of this server) or `idempotency_conflict` (an Idempotency-Key reused with "
                           "another request)."),
    429: ("TooManyRequests", "`rate_limited` (the key's request rate) or `concurrency_limit` (the account's queued "
                             "submissions); retry after Retry-After seconds."),
    503: ("Unavailable", "`unavailable`: the server cannot take the request now (its database is out of reach, "
                         "it is shutting down, its sandbox cannot run jobs, too many event streams); retry after "
                         "Retry-After seconds."),
}
INTERNAL_ERROR = ("InternalError", "`internal_error`: a bug, logged with the request id (no stack trace is sent).")
RETRY_AFTER_STATUSES = (409, 429, 503)

HEADERS = {
    "X-Request-Id": {"description": "This request's id (the client's own when it sent a sane one); quote it when "
                                    "reporting a problem.", "schema": {"type": "string"}},
    "X-RateLimit-Limit": {"description": "Requests the key (or the account, see X-RateLimit-Scope) may make in the "
                                         "window.", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window resets (epoch seconds).", "schema": {"type": "integer"}},
    "X-RateLimit-Scope": {"description": "Which limit the other X-RateLimit headers describe: the key's own or the "
                                         "account-wide one, whichever has fewer requests left.",
                          "schema": {"type": "string", "enum": ["key", "account"]}},
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    "Location": {"description": "The new submission's status_url.", "schema": {"type": "string"}},
    "Preference-Applied": {"description": "`wait=N` when the request's `Prefer: wait=N` was honoured.",
                           "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored response to an earlier request with the "
                                           "same Idempotency-Key.", "schema": {"type": "string", "enum": ["true"]}},
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Scope")

PARAMETERS = {
    "Idempotency-Key": {
        "in": "header", "name": "Idempotency-Key", "required": False,
        "description": "Any unique string (at most 255 characters): a retry with the same key and body within 24 "
                       "hours gets the first response again and nothing happens twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
    "Prefer": {
        "in": "header", "name": "Prefer", "required": False,
        "description": "`wait=N` (N <= 60): hold the response until the run ends or N seconds pass; a run that "
                       "ended answers 200 with the whole submission.",
        "schema": {"type": "string", "pattern": r"^.*wait\s*=\s*\d+.*$"}},   # no example: the playground would send it
}


def operation(operation_id, *raises, headers=(), parameters=(), public=False):
    """Name a view's operation and the errors it raises itself; see the module's conventions.

    `headers` are response headers the view sets besides the usual ones, `parameters` the
    request headers it reads (names from HEADERS and PARAMETERS); `public` views need no key.
    """
    def decorate(view):
        view._vilvik_operation = {"id": operation_id, "statuses": sorted({cls.status for cls in raises}),
                                  "headers": list(headers), "parameters": list(parameters), "public": public}
        return view
    return decorate


def describe(view):
    """What the decorators of a view say about its operation, for the document."""
    info = dict(getattr(view, "_vilvik_operation", None) or {})
    if not info:
        raise TypeError(f"{view.__qualname__} has no @operation(...): every API view names its operation")
    info["scope"] = getattr(view, "_vilvik_scope", None)
    info["idempotent"] = bool(getattr(view, "_vilvik_idempotent", False))
    return info


def error_statuses(info, method, has_arguments):
    """Every error status an operation can answer, from what its decorators and `operation` say."""
    statuses = {DATABASE_UNAVAILABLE.status, *info["statuses"]}
    if not info["public"]:
        statuses |= {errors.Unauthenticated.status, errors.RateLimited.status}
    if info["scope"]:
        statuses.add(errors.InsufficientScope.status)
    if method.upper() in ("POST", "PUT", "PATCH"):
        statuses |= {errors.InvalidJson.status, errors.PayloadTooLarge.status, errors.UnsupportedMediaType.status}
    if has_arguments:
        statuses.add(errors.ValidationFailed.status)
    if info["idempotent"]:
        statuses |= {errors.Conflict.status, errors.IdempotencyConflict.status}
    return sorted(statuses)


class RelativePaths(FlaskPlugin):
    """Paths relative to the document's one server, `/api/v1` (`/submissions`, not `/api/v1/submissions`).

    The server URL is relative too, so the playground resolves it against the address it loaded
    the document from (any host name works) and a generated client's base URL is
    `https://host/api/v1`.
    """

    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def path_helper(self, rule, operations, parameters, **kwargs):
        path = super().path_helper(rule, operations, parameters, **kwargs)
        return path[len(self.prefix):] if path.startswith(self.prefix + "/") else path


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, completing each operation by the conventions above."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(_complete_operation)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                view = getattr(obj, method) if isinstance(obj, type(MethodView)) else obj
                doc["vilvik"] = describe(view)


def _complete_operation(doc, doc_info, *, method, **_):
    info = doc_info["vilvik"]
    doc["operationId"] = info["id"]
    if info["public"]:
        doc["security"] = []
    responses = doc.setdefault("responses", {})
    responses.pop(422, None)  # flask-smorest's own 422; ours comes below with the others
    success = {"X-Request-Id": "X-Request-Id"}
    if not info["public"]:
        success.update({name: name for name in RATE_LIMIT_HEADERS})
    if info["idempotent"]:
        success["Idempotent-Replayed"] = "Idempotent-Replayed"
    success.update({name: name for name in info["headers"]})
    for status, response in responses.items():
        if isinstance(response, dict):
            response.setdefault("headers", {}).update(success)
    has_arguments = bool(doc_info.get("arguments"))
    for status in error_statuses(info, method, has_arguments):
        responses[status] = ERROR_RESPONSES[status][0]
    responses["default"] = INTERNAL_ERROR[0]
    names = list(info["parameters"]) + (["Idempotency-Key"] if info["idempotent"] else [])
    doc.setdefault("parameters", []).extend(names)
    return doc


def register_components(spec, error_schema, schemas):
    """The shared schemas, error responses, headers and header parameters the operations refer to."""
    for name, schema in schemas.items():
        spec.components.schema(name, schema)
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], {k: v for k, v in parameter.items() if k != "in"})
    for status, (name, description) in [*ERROR_RESPONSES.items(), (None, INTERNAL_ERROR)]:
        headers = {"X-Request-Id": "X-Request-Id", **{name: name for name in RATE_LIMIT_HEADERS}}
        if status in RETRY_AFTER_STATUSES:
            headers["Retry-After"] = "Retry-After"
        spec.components.response(name, {"description": description, "headers": headers,
                                        "content": {"application/json": {"schema": error_schema}}})
