"""GraphQL exchanges checked against GitHub's public schema (npm @octokit/graphql-schema, schema.graphql).

The request: its document must parse and validate against the schema (fields, arguments, declared
variables), and its variables must coerce to their declared types (required and unknown input fields,
enum values). The answer: its ``data`` is replayed through graphql-core's executor with the schema's
types, as if it were what the resolvers returned, which finds nulls in non-null fields, wrong scalars
and enum values, and fields the query did not select.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, execute, get_operation_ast, parse, \
    validate
from graphql.execution.values import get_variable_values


class GraphQLSchemaCheck:
    """GitHub's GraphQL schema, and the checks of one request and its answer."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> GraphQLSchemaCheck:
        return cls(build_schema(Path(path).read_text(encoding="utf-8"), assume_valid=True, no_location=True))

    def refusal(self, request: dict[str, Any]) -> list[GraphQLError]:
        """Why GitHub would refuse to run ``request`` ([] when it would run it): the document does not
        parse or validate, names no operation to run, or its variables do not fit their types."""
        document, errors = self._document(str(request.get("query", "")))
        if document is None or errors:
            return list(errors)
        operation = get_operation_ast(document, request.get("operationName"))
        if operation is None:
            return [GraphQLError("no operation to run: give `operationName`")]
        variables = request.get("variables") if isinstance(request.get("variables"), dict) else {}
        coerced = get_variable_values(self.schema, operation.variable_definitions or [], variables)
        return coerced if isinstance(coerced, list) else []

    @lru_cache(maxsize=256)
    def _document(self, query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
        try:
            document = parse(query)
        except GraphQLError as error:
            return None, (error,)
        with self._lock:  # graphql-core's validation caches on the schema: one at a time
            return document, tuple(validate(self.schema, document))

    def check(self, request: Any, response: Any, check_response: bool = True) -> list[str]:
        """What is wrong with one exchange (``request`` and ``response``: the parsed JSON bodies)."""
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return ["request: the body has no `query` string"]
        problems = [f"request: {error.message}" for error in self.refusal(request)]
        document = self._document(request["query"])[0]
        if problems or document is None or not check_response:
            return problems
        return self._check_response(document, request, response)

    def _check_response(self, document: DocumentNode, request: dict[str, Any], response: Any) -> list[str]:
        if not isinstance(response, dict):
            return ["response: not a JSON object"]
        problems = [f"response: unexpected top-level key {key!r}"
                    for key in sorted(set(response) - {"data", "errors", "extensions"})]
        problems += [f"response: an error without a message: {error!r}" for error in response.get("errors") or []
                     if not isinstance(error, dict) or not isinstance(error.get("message"), str)]
        data = response.get("data")
        if data is None or response.get("errors"):  # with errors GitHub nulls fields, even non-null ones
            return problems
        with self._lock:
            replay = execute(self.schema, document, root_value=data, operation_name=request.get("operationName"),
                             variable_values=request.get("variables"), field_resolver=_by_response_key)
        problems += [f"response {'.'.join(map(str, error.path or []))}: {error.message}"
                     for error in replay.errors or []]
        if not replay.errors and replay.data != data:
            problems.append(f"response: data holds more than the query selects: {data!r}")
        return problems


def _by_response_key(source: Any, info: Any, **_arguments: Any) -> Any:
    return source.get(info.path.key) if isinstance(source, dict) else None
