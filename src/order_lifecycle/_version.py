"""The package's version, read by the build (``[tool.hatch.version]``) and at import."""

__version__ = "0.1.0"
