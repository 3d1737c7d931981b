"""buzzwatch: the application layer that wires the core and the edges into commands."""

__version__ = "0.1.0"
