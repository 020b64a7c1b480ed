"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class TwitchcamError(Exception):
    """A problem the user can act on; its message is shown as is, without a traceback."""

    exit_code = 2
