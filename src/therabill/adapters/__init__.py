"""therabill adapters."""
