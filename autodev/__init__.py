"""autodev: a spec-driven coding daemon."""

__version__ = "0.1.0"
