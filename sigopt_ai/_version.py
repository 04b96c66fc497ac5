"""The package version, in one place: the package, the HTTP backend's User-Agent and the command line read it."""

__version__ = "0.1.0"
