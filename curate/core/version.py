"""The package version, in one place: the manifest, the CLI and the package read it."""

__version__ = "0.1.0"
