"""GitHub's own descriptions of its API (OpenAPI for REST, the GraphQL schema), which every exchange
of the GitHub emulator is checked against: `conformance`."""
