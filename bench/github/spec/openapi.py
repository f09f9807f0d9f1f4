"""REST exchanges checked against GitHub's OpenAPI description (npm @octokit/openapi, api.github.com.json).

    description = Description.load(path)
    problems = description.check("POST", "/repos/o/r/pulls", "", {"head": "x", "base": "main"},
                                 201, response_json)        # [] when both sides conform

The description is OpenAPI 3.0.3 and describes REST API version 2022-11-28, the one the emulator
serves. Each schema an exchange needs is converted once to JSON Schema 2020-12 (``nullable``,
overlapping ``oneOf``, ``$ref`` siblings: see `_convert`) and compiled with jsonschema-rs; only
the component schemas reachable from it are copied in, so compiling is lazy and cheap (~3 ms).
Operations are found with a trie over the ~800 path templates: a literal segment beats
``{param}``, and an ``x-multi-segment`` parameter in last place (``branches/{branch}``) takes the rest.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl

import jsonschema_rs

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GLOBAL_ERRORS = frozenset({401, 404, 429, 500, 502, 503, 504})
"""Statuses GitHub may answer on any operation (bad credentials, not found or not visible, rate limit,
outage) and documents once, not per operation: checked as basic-error."""
CHECKED_FORMATS = ("date-time", "date", "email", "uri")
_OTHER_FORMATS = ("uri-template", "int64", "int32", "repo.nwo", "binary", "double")
"""Formats of the description that are not JSON Schema's (or not checked): always accepted."""
_DROP = {"nullable", "discriminator", "xml", "externalDocs", "example", "examples", "readOnly", "writeOnly",
         "deprecated"}
"""OpenAPI schema keywords that JSON Schema 2020-12 does not know (or means otherwise)."""
_PARAM = re.compile(r"^\{([^}]+)\}$")


@dataclass(frozen=True)
class Problem:
    """One disagreement: ``where`` (request, response, operation, status, media), what, and where in the body."""

    where: str
    message: str
    pointer: str = ""

    def __str__(self) -> str:
        return f"{self.where}{' ' + self.pointer if self.pointer else ''}: {self.message}"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def operation_id(self) -> str:
        return self.spec.get("operationId", "")

    @property
    def docs_url(self) -> str:
        return (self.spec.get("externalDocs") or {}).get("url", "")


class _Node:
    __slots__ = ("literal", "param", "rest", "templates")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.rest: list[str] = []
        """Templates whose last parameter (x-multi-segment) takes the rest of the path from here."""
        self.templates: list[str] = []


class Description:
    """GitHub's REST API as its OpenAPI description has it; thread-safe, validators compiled on first use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self._root = _Node()
        for template, item in document["paths"].items():
            self._index(template, item)
        self._validators: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Description:
        return cls(json.loads(Path(path).read_bytes()))

    # -- operations --

    def _index(self, template: str, item: dict[str, Any]) -> None:
        multi = {p["name"] for op in (item[m] for m in METHODS if m in item)
                 for p in self._parameters(op, item) if p.get("x-multi-segment")}
        node, segments = self._root, template.strip("/").split("/")
        for index, segment in enumerate(segments):
            param = _PARAM.match(segment)
            if param and param[1] in multi and index == len(segments) - 1:
                node.rest.append(template)
                return
            if param:
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(segment, _Node())
        node.templates.append(template)

    def _parameters(self, op: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]

    def resolve(self, obj: Any) -> Any:
        """``obj`` with its ``$ref`` (into this document) followed."""
        while isinstance(obj, dict) and "$ref" in obj:
            node: Any = self.document
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
        return obj

    @lru_cache(maxsize=4096)
    def _templates_for(self, path: str) -> tuple[str, ...]:
        """Every template matching ``path``, the most literal first."""
        segments = path.strip("/").split("/") if path.strip("/") else []
        found: list[str] = []

        def walk(node: _Node, index: int) -> None:
            if index == len(segments):
                found.extend(node.templates)
                found.extend(node.rest)  # an empty tail: GET .../contents is contents/{path}
                return
            if segments[index] in node.literal:
                walk(node.literal[segments[index]], index + 1)
            if node.param is not None:
                walk(node.param, index + 1)
            found.extend(node.rest)

        walk(self._root, 0)
        return tuple(found)

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation ``method`` ``path`` (a concrete path, relative to the API root) is, if any."""
        for template in self._templates_for(path):
            spec = self.document["paths"][template].get(method.lower())
            if spec is not None:
                return Operation(method.upper(), template, spec)
        return None

    # -- checking --

    def check(self, method: str, path: str, query: str, request: Any, status: int, response: Any,
              content_type: str = "application/json", sent_body: bool | None = None,
              check_response: bool = True) -> list[Problem]:
        """What is wrong with one exchange (``request`` and ``response``: parsed JSON, None for no body)."""
        operation = self.operation(method, path)
        if operation is None:
            return [Problem("operation", f"{method} {path} is no operation of GitHub's REST API")]
        sent = request is not None if sent_body is None else sent_body
        problems = self._check_request(operation, request, sent) + self._check_query(operation, query)
        if check_response:
            problems += self._check_response(operation, status, response, content_type)
        return problems

    def _check_request(self, operation: Operation, request: Any, sent: bool) -> list[Problem]:
        body = self.resolve(operation.spec.get("requestBody")) if operation.spec.get("requestBody") else None
        if not body:
            return []
        if not sent:
            return [Problem("request", "a body is required, none was sent")] if body.get("required") else []
        schema = (body.get("content", {}).get("application/json") or {}).get("schema")
        return self._errors("request", (operation.template, operation.method, "request"), schema, request) \
            if schema is not None else []

    def _check_query(self, operation: Operation, query: str) -> list[Problem]:
        if not query:
            return []
        item = self.document["paths"][operation.template]
        declared = {p["name"]: p for p in self._parameters(operation.spec, item) if p.get("in") == "query"}
        problems = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name not in declared:
                problems.append(Problem("request", f"query parameter {name!r} is not documented"))
                continue
            allowed = (declared[name].get("schema") or {}).get("enum")
            if allowed and value not in allowed:
                problems.append(Problem("request", f"query {name}={value!r} is not one of {allowed}"))
        return problems

    def _check_response(self, operation: Operation, status: int, response: Any,
                        content_type: str) -> list[Problem]:
        responses = operation.spec.get("responses", {})
        answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if answer is None and status in GLOBAL_ERRORS:
            answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/basic-error"}}}}
        if answer is None:
            documented = ", ".join(sorted(responses))
            return [Problem("status", f"{status} is not a documented response of {operation.operation_id} "
                                      f"(documented: {documented})")]
        content = self.resolve(answer).get("content") or {}
        if not content:
            return [Problem("response", f"{status} documents no body, but one was sent")] \
                if response not in (None, b"", "") else []
        media = _media(content, content_type)
        if media is None:
            return [Problem("media", f"{content_type} is not among {sorted(content)}")]
        schema = content[media].get("schema")
        if schema is None or not (media.endswith("json") or media == "application/vnd.github.object"):
            return []
        return self._errors("response", (operation.template, operation.method, status, media), schema, response)

    def _errors(self, where: str, key: tuple, schema: dict[str, Any], instance: Any) -> list[Problem]:
        validator = self._validator(key, schema)
        if validator.is_valid(instance):  # the usual case: no error objects built
            return []
        return [Problem(where, _short(error.message), "/" + "/".join(map(str, error.instance_path)))
                for error in validator.iter_errors(instance)][:20]

    def _validator(self, key: tuple, schema: dict[str, Any]) -> Any:
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                validator = jsonschema_rs.validator_for(
                    self.json_schema(schema), validate_formats=True, offline=True,
                    formats={name: _accept for name in _OTHER_FORMATS})
                self._validators[key] = validator
            return validator

    def json_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """An OpenAPI schema (refs into ``#/components/schemas``) as a self-contained JSON Schema 2020-12."""
        needed: dict[str, Any] = {}
        pending = list(_refs(schema))
        while pending:
            name = pending.pop()
            if name not in needed:
                needed[name] = self.schemas[name]
                pending.extend(_refs(needed[name]))
        converted = _convert(schema)
        converted = converted if isinstance(converted, dict) else {"anyOf": [converted]}
        return {**converted, "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": {name: _convert(s) for name, s in needed.items()}}


def _accept(_: str) -> bool:
    return True


def _media(content: dict[str, Any], content_type: str) -> str | None:
    base = content_type.split(";")[0].strip().lower()
    if base in content:
        return base
    if base == "application/json":
        return next((name for name in content if name.endswith("+json")), None)
    return None


def _refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _short(message: str) -> str:
    return message if len(message) < 300 else message[:300] + "…"


def _convert(schema: Any) -> Any:
    """One OpenAPI 3.0 schema object as JSON Schema 2020-12, recursively.

    - ``nullable: true`` becomes a ``null`` type (and ``null`` joins an ``enum``: GitHub sends
      ``"state_reason": null`` where the enum lacks it);
    - ``oneOf`` is checked as ``anyOf``: GitHub's branches overlap (validation-error's ``value`` is
      one of three nullable types, so ``null`` matches all three and ``oneOf`` would fail);
    - siblings of ``$ref`` are ignored, as OpenAPI 3.0 says; annotations are dropped.
    """
    if isinstance(schema, list):
        return [_convert(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"$ref": "#/$defs/" + schema["$ref"].rsplit("/", 1)[1]}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _convert(item) for name, item in value.items()}
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out["anyOf" if key == "oneOf" else key] = [_convert(item) for item in value]
        else:
            out[key] = value
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif any(key in out for key in ("allOf", "anyOf")):
            out = {"anyOf": [{"type": "null"}, out]}
    return out
