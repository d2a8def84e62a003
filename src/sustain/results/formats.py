"""The formats a run's tables are written in (light: the command line's help names them)."""

FORMATS = ("csv", "parquet", "json")
DEFAULT_FORMATS = ("csv", "parquet")
