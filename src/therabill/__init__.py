"""therabill: practice management and insurance billing for massage and manual therapy."""

__version__ = "0.1.0"
