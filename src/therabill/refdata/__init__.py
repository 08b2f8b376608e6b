"""therabill refdata."""
