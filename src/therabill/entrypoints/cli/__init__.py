"""therabill entrypoints cli."""
