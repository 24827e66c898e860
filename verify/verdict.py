"""The verdict: what a verification found, in a form people and programs can use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = ["Check", "Outcome", "Status", "Verdict"]


class Outcome(StrEnum):
    GENUINE = "genuine"
    NOT_GENUINE = "not_genuine"
    CANNOT_VERIFY = "cannot_verify"


class Status(StrEnum):
    """Stable status codes; programs may rely on these strings."""

    GENUINE = "GENUINE"
    REVOKED = "REVOKED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    KEY_NOT_TRUSTED = "KEY_NOT_TRUSTED"
    EXPIRED = "EXPIRED"
    MALFORMED = "MALFORMED"
    NOT_A_WATHIQ_CODE = "NOT_A_WATHIQ_CODE"
    INDETERMINATE = "INDETERMINATE"
    NO_QR_FOUND = "NO_QR_FOUND"
    UNSUPPORTED_INPUT = "UNSUPPORTED_INPUT"

    @property
    def outcome(self) -> Outcome:
        if self is Status.GENUINE:
            return Outcome.GENUINE
        if self in _CANNOT_VERIFY:
            return Outcome.CANNOT_VERIFY
        return Outcome.NOT_GENUINE


# An unknown key may be newer than the verifier's key list, or a forger's: only
# fresher trust data or the online check can tell, so it is not a "not genuine".
_CANNOT_VERIFY = {
    Status.UNKNOWN_KEY,
    Status.INDETERMINATE,
    Status.NOT_A_WATHIQ_CODE,
    Status.NO_QR_FOUND,
    Status.UNSUPPORTED_INPUT,
}


class Check(NamedTuple):
    """One verification step: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    status: Status
    reference_time: datetime
    checks: tuple[Check, ...] = ()
    document_id: str | None = None
    document: dict[str, Any] = field(default_factory=dict)
    """Signed fields to compare with the paper; empty until the signature passed."""
    kid: str | None = None
    reason: str | None = None
    """The revocation reason, or the cause of a failed or undecided check."""
    successor_id: str | None = None
    key_list_version: int | None = None
    key_list_age_seconds: int | None = None
    status_list_version: int | None = None
    status_list_age_seconds: int | None = None

    @property
    def outcome(self) -> Outcome:
        return self.status.outcome

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form shared by the CLI, the API and the kiosk."""
        return {
            "status": self.status.value,
            "outcome": self.outcome.value,
            "document_id": self.document_id,
            "document": self.document,
            "reason": self.reason,
            "successor_id": self.successor_id,
            "kid": self.kid,
            "checks": [check.to_dict() for check in self.checks],
            "trust": {
                "key_list_version": self.key_list_version,
                "key_list_age_seconds": self.key_list_age_seconds,
                "status_list_version": self.status_list_version,
                "status_list_age_seconds": self.status_list_age_seconds,
            },
            "reference_time": self.reference_time.isoformat(),
        }
