"""therabill schemas."""
