"""The GitHub emulator: REST, GraphQL and git smart HTTP on loopback, as strict as GitHub."""
