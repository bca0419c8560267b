"""Admin for operations, one module per kind of record."""

from ops.admin import errors, ratelimits, workers  # noqa: F401 registers them
