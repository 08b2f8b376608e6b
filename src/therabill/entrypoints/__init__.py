"""therabill entrypoints."""
