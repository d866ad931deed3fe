"""The one exception family for user-facing problems.

The CLI catches :class:`UserError`, prints ``error: <message>`` on one line and exits 2.
Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: bad config, unknown id, missing data, ...

    The message should say what is wrong, where, and what to do, in one line.
    """


class ConfigError(UserError):
    """A config file or ``--set`` override is malformed, has an unknown key or a wrong type."""


class DataError(UserError):
    """A data file is missing, corrupt, fails its checksum or is not plain data."""
