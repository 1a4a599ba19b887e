"""Logging: one stderr handler, JSON lines or console lines, secrets redacted.

Every record passes two filters on the way out: one adds the id of the
request being served (from `request_id_var`), the other rewrites anything
that looks like a credential. Granian's loggers are routed through the same
handler, so the server's own lines share the format.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any

import orjson

from ..settings import Settings

HANDLER_NAME = "techcorp"
"""The name of the handler this module installs, so reconfiguring replaces it."""

GRANIAN_LOGGERS = ("_granian", "granian.access")

QUIET_LOGGERS = ("aiosqlite",)
"""Loggers kept at INFO or above: at DEBUG aiosqlite logs every statement with
its parameters, which would put emails and password hashes in the log."""

REDACTED = "[REDACTED]"

REDACTED_FLAG = "_redacted"
"""A record attribute: set once the record is free of secrets, so that
`RedactingFilter` skips it. Callers that build a record only from values they
have checked or redacted themselves may set it through `extra`."""

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being served in the current task, if any."""

_STANDARD_RECORD = logging.LogRecord("", 0, "", 0, "", None, None).__dict__

# Attributes that every LogRecord has. Any other attribute came from `extra` or
# from a filter.
_RECORD_ATTRIBUTES = frozenset(_STANDARD_RECORD) | {
    "message",
    "asctime",
    "request_id",
}

# `LogRecord.__init__` sets the standard attributes first, and dicts keep
# insertion order, so extras always come after this many entries.
_STANDARD_COUNT = len(_STANDARD_RECORD)

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT: three base64url segments, the first a JSON header ("eyJ" is "{").
    # The signature may be empty, as in an `alg: none` token.
    (
        re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"),
        REDACTED,
    ),
    (
        re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/-]+=*"),
        rf"\1\2{REDACTED}",
    ),
    # The password in a URL's userinfo, as in a database URL.
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), rf"\1{REDACTED}@"),
    # API client secrets as the server generates them. The 8-character hint
    # shown in client lists is shorter than the pattern, so it stays readable.
    (re.compile(r"\bcs_[A-Za-z0-9_-]{16,}"), f"cs_{REDACTED}"),
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\")]+"), f"$argon2{REDACTED}"),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), f"whsec_{REDACTED}"),
    # key=value, key: value and "key": "value" for keys that name a secret.
    (
        re.compile(
            r"(?i)((?:client_secret|password|passwd|secret|access_token"
            r"|refresh_token|api_key|authorization)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\"'&\s,;}]+"
        ),
        rf"\1{REDACTED}",
    ),
)

_SECRET_KEY = re.compile(
    r"(?i)^(password|passwd|secret|token|authorization|api_key|cookie)$"
    r"|_(password|secret|token)$|^(password|secret|authorization)_"
)


@lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Tell whether a field named `key` contains a secret, as `client_secret` does."""
    return _SECRET_KEY.search(key) is not None


# A cheap first pass: text without any of these cannot match a pattern above,
# and nearly every log line is such text.
# Matched against the lower-cased text: measured with timeit on a 20-character
# line, 0.6 us against 2.4 us for the same pattern with re.IGNORECASE.
_MAY_CONTAIN_SECRET = re.compile(
    r"eyj|bearer|basic|cs_|whsec_|argon2|://|secret|passw|token|authorization"
    r"|api_key"
)


def redact(text: str) -> str:
    """Replace every credential-looking part of `text` with a marker."""
    if _MAY_CONTAIN_SECRET.search(text.lower()) is None:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth >= 4:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key)
            else _redact_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item, depth + 1) for item in value]
    return value


def extras_of(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields a caller passed with `extra=`."""
    return {
        key: value
        for key, value in islice(record.__dict__.items(), _STANDARD_COUNT, None)
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
    }


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record, from the context when not given."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            setattr(record, "request_id", request_id_var.get())  # noqa: B010
        return True


class RedactingFilter(logging.Filter):
    """Remove tokens, JWTs, client secrets, passwords and webhook secrets.

    The message is rendered with its arguments first, so a secret passed as
    an argument is caught too. Extras whose key names a secret are replaced
    whole, and the traceback text is redacted before the record reaches a
    formatter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, REDACTED_FLAG, False):
            return True

        record.msg = redact(record.getMessage())
        record.args = None

        for key, value in extras_of(record).items():
            if is_secret_key(key):
                setattr(record, key, REDACTED)
            elif not isinstance(value, int | float | bool):
                setattr(record, key, _redact_value(value))

        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)

        setattr(record, REDACTED_FLAG, True)
        return True


class _Timestamps:
    """Renders ISO 8601 UTC times to the millisecond, reusing the date part."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def render(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._prefix = moment.strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        millis = int((created - second) * 1000)
        return f"{self._prefix}.{millis:03d}Z"


_timestamps = _Timestamps()


def _timestamp(record: logging.LogRecord) -> str:
    return _timestamps.render(record.created)


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process id, message, then
    extras.

    The process id separates the lines of the worker processes of
    `serve --workers N`, which share one stderr.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": os.getpid(),
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(extras_of(record))

        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info

        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """A readable line for a terminal: time, level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            _timestamp(record),
            f"{record.levelname:<7}",
            record.name,
        ]
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            parts.append(f"[{request_id}]")
        parts.append(record.getMessage())
        parts.extend(f"{key}={value}" for key, value in extras_of(record).items())
        line = " ".join(parts)

        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


def use_json(settings: Settings) -> bool:
    """Decide the format: JSON unless asked for console or writing to a TTY."""
    if settings.log_format == "auto":
        return not sys.stderr.isatty()
    return settings.log_format == "json"


def _handler(settings: Settings) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.name = HANDLER_NAME
    formatter = JSONFormatter() if use_json(settings) else ConsoleFormatter()
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    return handler


def configure_logging(settings: Settings) -> None:
    """Install the stderr handler on the root logger, replacing an earlier one.

    Handlers that others installed (a test runner's capture, for one) stay.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.name == HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
    root.addHandler(_handler(settings))

    level = settings.log_level.upper()
    root.setLevel(level)

    # No formatter here reads the records' thread or process fields (the JSON
    # formatter calls os.getpid() itself), so the records skip collecting them
    # (the "Optimization" switches of the logging HOWTO).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    for name in GRANIAN_LOGGERS:
        granian_logger = logging.getLogger(name)
        for existing in list(granian_logger.handlers):
            granian_logger.removeHandler(existing)
        granian_logger.propagate = True
        granian_logger.setLevel(level)

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))


def granian_log_config(settings: Settings) -> dict[str, Any]:
    """Build the `log_dictconfig` for Granian, matching `configure_logging`.

    Granian configures logging in its main process and in each worker before
    it loads the application. With this configuration even those first lines
    come out in the server's format.
    """
    formatter = JSONFormatter if use_json(settings) else ConsoleFormatter
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": _qualified_name(formatter)}},
        "filters": {
            "request_id": {"()": _qualified_name(RequestIdFilter)},
            "redact": {"()": _qualified_name(RedactingFilter)},
        },
        "handlers": {
            HANDLER_NAME: {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"handlers": [HANDLER_NAME], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in GRANIAN_LOGGERS
        },
    }


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
