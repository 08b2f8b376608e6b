"""therabill service_layer."""
