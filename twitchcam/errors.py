"""The exception types the CLI turns into a one-line message and a non-zero exit."""


class TwitchcamError(Exception):
    """A problem the user can act on; its message is shown as is, without a traceback."""

    exit_code = 2


class Interrupted(TwitchcamError):
    """Ctrl-C: the work so far is saved; exit code 130 as for any SIGINT-ended program."""

    exit_code = 130
