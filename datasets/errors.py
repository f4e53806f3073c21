"""The project's own error for bad input: one line that names the file and the problem."""


class InputError(ValueError):
    """Bad input from a user: a file, a field or a command-line value.

    The message is one line, starting with the file (or flag) it is about. The CLIs print it and
    exit with status 2, without a traceback.
    """
