"""The local bench: the GitHub emulator, the scripted model, the runner emulator and scenarios (scripts/run-local)."""
