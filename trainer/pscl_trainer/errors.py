"""Errors the CLI turns into `error` events with a kind and an exit code."""


class TrainerError(Exception):
    """An error with a message a user can act on."""

    kind = "internal"
    exit_code = 1


class ConfigError(TrainerError):
    kind = "config"
    exit_code = 2


class DataError(TrainerError):
    kind = "data"
    exit_code = 3


class OutOfMemory(TrainerError):
    kind = "oom"
    exit_code = 4


class CudaUnavailable(TrainerError):
    kind = "cuda"
    exit_code = 5
