"""Structured logs with request ids.

Log records carry the id of the request being served (a context variable set by
`verify.api.middleware.RequestMiddleware`). What must never reach a log: QR payloads
(request paths of ``/v/...`` are logged as their route template), personal names,
bearer tokens and uploaded bytes. Messages in this package log ids, routes, status
codes and sizes only.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any

__all__ = ["REQUEST_ID", "JsonFormatter", "RequestIdFilter", "logging_config"]

REQUEST_ID: ContextVar[str] = ContextVar("wathiq_request_id", default="-")

# LogRecord attributes that are not extra fields given by the caller.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "request_id", "taskName", "color_message"}


class RequestIdFilter(logging.Filter):
    """Add the current request id to every record as ``record.request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, with extra fields included."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Return a `logging.config.dictConfig` dictionary for the service and uvicorn.

    uvicorn applies it in each worker process. Its access log is off because it
    would write request paths, which contain QR payloads under ``/v/``. The service
    writes its own access line per request instead.
    """
    formatter = (
        {"()": "verify.api.logs.JsonFormatter"}
        if log_format == "json"
        else {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "verify.api.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
            # fontTools logs each font subsetting step at INFO, dozens per PDF.
            "fontTools": {"level": "WARNING"},
        },
    }
