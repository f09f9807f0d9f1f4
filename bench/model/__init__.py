"""Scripted model servers: each vendor's streaming API on loopback, answering from a scenario's script."""
