"""Strict marshmallow fields for problem parameters, each able to describe itself as JSON Schema.

Numbers are JSON numbers only (no booleans, no strings, nothing non-finite), within stated bounds,
so that every value can be written into a fitness source as an exact Python literal.
"""
import math

from marshmallow import Schema, ValidationError, fields

MAX_ABS = 1e9          # any number a problem takes stays within this
MAX_ITEMS = 200        # items, cities, numbers, inputs


def _number(value, minimum, maximum, integer, exclusive_minimum=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError("must be an integer" if integer else "must be a number")
    if integer and not isinstance(value, int):
        raise ValidationError("must be an integer")
    if not math.isfinite(value):
        raise ValidationError("must be finite")
    if value < minimum or value > maximum or (exclusive_minimum and value == minimum):
        raise ValidationError(f"must be {'>' if exclusive_minimum else '>='} {minimum:g} and <= {maximum:g}")
    return value


class Number(fields.Field):
    """A finite JSON number (or integer) in [minimum, maximum] (or (minimum, maximum])."""

    def __init__(self, minimum=-MAX_ABS, maximum=MAX_ABS, integer=False, exclusive_minimum=False,
                 description="", title=None, **kwargs):
        super().__init__(metadata={"description": description, "title": title}, **kwargs)
        self.minimum, self.maximum, self.integer = minimum, maximum, integer
        self.exclusive_minimum = exclusive_minimum

    def _deserialize(self, value, attr, data, **kwargs):
        return _number(value, self.minimum, self.maximum, self.integer, self.exclusive_minimum)

    def json_schema(self):
        schema = {"type": "integer" if self.integer else "number", "maximum": self.maximum}
        schema["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        return schema


class NumberList(fields.Field):
    """A list of min_items..max_items finite numbers, each in [minimum, maximum]."""

    def __init__(self, min_items=1, max_items=MAX_ITEMS, minimum=-MAX_ABS, maximum=MAX_ABS, integer=False,
                 description="", title=None, **kwargs):
        super().__init__(metadata={"description": description, "title": title}, **kwargs)
        self.min_items, self.max_items = min_items, max_items
        self.item = Number(minimum, maximum, integer)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("must be a list of numbers")
        if not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(f"must hold {self.min_items} to {self.max_items} numbers (it holds {len(value)})")
        errors = {}
        for index, item in enumerate(value):
            try:
                self.item._deserialize(item, attr, data)
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors)
        return list(value)

    def json_schema(self):
        return {"type": "array", "items": self.item.json_schema(), "minItems": self.min_items,
                "maxItems": self.max_items}


class PointList(fields.Field):
    """A list of min_items..max_items points, each a pair [x, y] of finite numbers."""

    def __init__(self, min_items=2, max_items=MAX_ITEMS, bound=MAX_ABS, description="", title=None, **kwargs):
        super().__init__(metadata={"description": description, "title": title}, **kwargs)
        self.min_items, self.max_items = min_items, max_items
        self.coordinate = Number(-bound, bound)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("must be a list of [x, y] points")
        if not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(f"must hold {self.min_items} to {self.max_items} points (it holds {len(value)})")
        errors = {}
        for index, point in enumerate(value):
            if not isinstance(point, list) or len(point) != 2:
                errors[index] = ["must be a point [x, y]"]
                continue
            try:
                for coordinate in point:
                    self.coordinate._deserialize(coordinate, attr, data)
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors)
        return [list(point) for point in value]

    def json_schema(self):
        return {"type": "array", "minItems": self.min_items, "maxItems": self.max_items,
                "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": self.coordinate.json_schema()}}


def params_schema(schema: Schema) -> dict:
    """A JSON-Schema object describing what `schema` loads: types, bounds, defaults, required."""
    properties, required = {}, []
    for name, field in schema.fields.items():
        spec = {key: value for key, value in field.metadata.items() if value is not None}
        spec.setdefault("title", name.replace("_", " "))
        spec.update(field.json_schema())
        if field.required:
            required.append(name)
        else:
            spec["default"] = field.load_default
        properties[name] = spec
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
