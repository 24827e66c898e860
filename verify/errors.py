"""Errors raised by wathiq, grouped by who has to act on them.

    WathiqError
    ├── InputError            the file or text a user gave cannot be read
    │   ├── UnsupportedInput  not an image, PDF or QR text we can read
    │   │   ├── UnknownFormat the bytes are no format we read (HTTP 415)
    │   │   └── CorruptInput  a format we read, but damaged (HTTP 422)
    │   ├── InputTooLarge     over the byte or page limit (HTTP 413)
    │   │   └── TooManyPixels over the pixel limit: a decompression bomb (HTTP 422)
    │   └── NoQrFound         readable, but holds no QR code
    ├── PayloadError          QR text that is not a well-formed wathiq payload
    │   ├── NotWathiqCode     a foreign QR code: a web link, a payment code, ...
    │   ├── MalformedPayload  ours, but damaged or structurally invalid
    │   └── UnsupportedFormat ours, but a format version this verifier predates
    ├── DocumentInputError    staff gave document fields that are missing or invalid
    ├── TrustDataError        a key list or status list was rejected (signature,
    │                         rollback, expiry, structure); the last good one is kept
    ├── KeyStoreError         private keys are missing, locked or misconfigured
    └── RegistryError         the document registry cannot do what was asked
        └── DocumentNotFound

A document that fails verification is not an error: the verifier returns a verdict
with a status code. Programming mistakes raise ValueError or RuntimeError.
"""

from __future__ import annotations


class WathiqError(Exception):
    """Root of every error wathiq raises on purpose."""


class InputError(WathiqError):
    """The file or text given for verification cannot be used."""


class UnsupportedInput(InputError):
    """The input is not a format wathiq reads, or is corrupt."""


class InputTooLarge(InputError):
    """The input is over a size, pixel or page limit."""


class UnknownFormat(UnsupportedInput):
    """The bytes are not in any format wathiq reads."""


class CorruptInput(UnsupportedInput):
    """The file is in a format wathiq reads, but is damaged or truncated."""


class TooManyPixels(InputTooLarge):
    """An image, or a rendered PDF page, is over the pixel limit."""


class NoQrFound(InputError):
    """The input was read, but no QR code was found in it."""


class PayloadError(WathiqError):
    """QR text that cannot be decoded into a wathiq payload."""


class NotWathiqCode(PayloadError):
    """The QR text is not a wathiq code at all."""


class MalformedPayload(PayloadError):
    """The QR text is marked as wathiq's, but its payload is damaged or invalid."""


class UnsupportedFormat(PayloadError):
    """The QR text uses a wathiq format version that this verifier does not know."""


class DocumentInputError(WathiqError, ValueError):
    """Document fields given for issuance are missing or invalid."""


class TrustDataError(WathiqError):
    """A key list, status list or trust bundle was rejected."""


class KeyStoreError(WathiqError):
    """Private keys are missing, cannot be decrypted, or are misconfigured."""


class RegistryError(WathiqError):
    """The document registry cannot complete the request."""


class DocumentNotFound(RegistryError):
    """No document with this id is in the registry."""
