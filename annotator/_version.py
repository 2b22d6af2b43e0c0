"""The package's version, in a module of its own so reports can name it
without importing the public API package above them."""

__version__ = "0.1.0"
