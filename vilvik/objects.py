"""Typed API objects: dataclasses with the fields this SDK knows, and `.raw`, the body as sent.

A field the server adds later is not lost: it is in `.raw`, and also readable as an
attribute (`obj.new_field`) or by key (`obj["new_field"]`). Time stamps become aware
`datetime`s; the strings "Infinity", "-Infinity" and "NaN" the API uses for
non-finite fitness become floats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


def parse_time(value):
    """An RFC 3339 string as an aware datetime (anything else is returned as it is)."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def parse_fitness(value):
    """Fitness as numbers: the API's non-finite strings become floats, lists are converted inside."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, list):
        return [parse_fitness(item) for item in value]
    return value


@dataclass
class VilvikObject:
    """Base of every API object: `raw` is the JSON body this object was built from."""

    raw: dict = field(default_factory=dict, repr=False, compare=False)
    _client: Any = field(default=None, repr=False, compare=False)

    # field name -> function applied to the raw value; subclasses extend it.
    _converters = {"created_at": parse_time, "updated_at": parse_time}

    @classmethod
    def from_dict(cls, data, client=None):
        """Build from an API body; unknown keys stay in `.raw`."""
        data = data if isinstance(data, dict) else {}
        values = {}
        for item in fields(cls):
            if item.name in ("raw", "_client") or item.name not in data:
                continue
            convert = cls._converters.get(item.name)
            values[item.name] = convert(data[item.name]) if convert and data[item.name] is not None \
                else data[item.name]
        return cls(raw=dict(data), _client=client, **values)

    def __getattr__(self, name):
        if name.startswith("_") or name == "raw":
            raise AttributeError(name)
        raw = self.__dict__.get("raw") or {}
        if name in raw:
            return raw[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __getitem__(self, key):
        return self.raw[key]

    def to_dict(self):
        """A copy of the JSON body."""
        return dict(self.raw)


def _nested(cls):
    return lambda value: cls.from_dict(value)


@dataclass
class Progress(VilvikObject):
    """How far a run has got: generations done of the total, best and mean fitness so far."""

    generations_completed: int | None = None
    num_generations: int | None = None
    best_fitness: Any = None
    mean_fitness: Any = None
    updated_at: datetime | None = None

    _converters = {**VilvikObject._converters, "best_fitness": parse_fitness, "mean_fitness": parse_fitness}


@dataclass
class RunError(VilvikObject):
    """Why a run failed: `code` (fitness_error, timeout, ...), `message`, maybe a `traceback`."""

    code: str | None = None
    message: str | None = None
    traceback: str | None = None


@dataclass
class Result(VilvikObject):
    """The outcome of a run: the best solution, its fitness, the history and final population."""

    id: str | None = None
    submission_id: str | None = None
    created_at: datetime | None = None
    best_solution: list | None = None
    best_solution_fitness: Any = None
    best_solution_idx: int | None = None
    best_solution_generation: int | None = None
    generations_completed: int | None = None
    best_fitness_per_generation: list | None = field(default=None, repr=False)
    last_generation_fitness: list | None = field(default=None, repr=False)
    population: list | None = field(default=None, repr=False)
    pareto_front: list | None = field(default=None, repr=False)
    interpretation: dict | None = field(default=None, repr=False)
    usage: dict | None = field(default=None, repr=False)
    credits_charged: float | None = None

    _converters = {**VilvikObject._converters, **{name: parse_fitness for name in (
        "best_solution_fitness", "best_fitness_per_generation", "last_generation_fitness", "pareto_front")}}

    def csv(self):
        """The per-generation history as CSV text (`GET /results/{id}?format=csv`)."""
        return self._client.results.csv(self.id)


@dataclass
class Credits(VilvikObject):
    balance: float | None = None
    reserved: float | None = None
    available: float | None = None


@dataclass
class Account(VilvikObject):
    """Your account: credits (`balance = available + reserved`), limits and what is used of them."""

    id: str | None = None
    email: str | None = None
    created_at: datetime | None = None
    credits: Credits | None = None
    limits: dict | None = None
    price: dict | None = None

    _converters = {**VilvikObject._converters, "credits": _nested(Credits)}


@dataclass
class LedgerEntry(VilvikObject):
    """One change to your credits: kind is grant, reserve, release, charge, refund or adjustment."""

    id: str | None = None
    created_at: datetime | None = None
    kind: str | None = None
    amount: float | None = None
    balance_after: float | None = None
    submission_id: str | None = None
    note: str | None = None


@dataclass
class ApiKey(VilvikObject):
    """An API key; `secret` is set only on the object `keys.create` returns."""

    id: str | None = None
    name: str | None = None
    prefix: str | None = None
    scopes: list | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    secret: str | None = None

    _converters = {**VilvikObject._converters, "last_used_at": parse_time}


@dataclass
class WebhookEndpoint(VilvikObject):
    """A registered webhook URL; `secret` (whsec_...) is set on create and after rotate_secret."""

    id: str | None = None
    url: str | None = None
    events: list | None = None
    description: str | None = None
    enabled: bool | None = None
    created_at: datetime | None = None
    secret: str | None = None


@dataclass
class WebhookDelivery(VilvikObject):
    """One attempt to deliver an event to an endpoint."""

    id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    status: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    attempt: int | None = None
    next_retry_at: datetime | None = None
    created_at: datetime | None = None

    _converters = {**VilvikObject._converters, "next_retry_at": parse_time}


@dataclass
class Event(VilvikObject):
    """A webhook event: `{"id": "evt_...", "type": "result.completed", "created_at": ..., "data": {...}}`."""

    id: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    data: dict | None = None


@dataclass
class QuickProblem(VilvikObject):
    """A problem of the quick builder (`type="quick"`): its name, what it solves, what it takes.

    `params_schema` is the JSON Schema of its `problem_params`, `example` a valid
    `problem_params`, and `defaults` the PyGAD parameters the builder writes for the example.
    """

    name: str | None = None
    title: str | None = None
    description: str | None = None
    params_schema: Any = None
    example: Any = None
    defaults: Any = None
    fitness_func_entry: str | None = None


@dataclass
class ServerSentEvent:
    """One event of `GET /submissions/{id}/events`: `event` is "progress" or "status"."""

    event: str
    data: Any
    id: str | None = None
