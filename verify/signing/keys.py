"""Private key storage: encrypted PKCS#8 PEM files, one per key.

A private key is read only to sign and is never logged, printed or put in an error
message. Keys are encrypted with the passphrase from ``WATHIQ_KEY_PASSPHRASE`` or the
file named by ``WATHIQ_KEY_PASSPHRASE_FILE``. Only the development mode named
``WATHIQ_INSECURE_UNENCRYPTED_KEYS=1`` writes unencrypted keys, with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.crypto import kid_for
from verify.errors import KeyStoreError

__all__ = ["KeyStore", "SigningKey"]

logger = logging.getLogger(__name__)

INSECURE_MODE_VARIABLE = "WATHIQ_INSECURE_UNENCRYPTED_KEYS"
MIN_PASSPHRASE_CHARS = 12


class SigningKey:
    """An Ed25519 private key with its kid; its repr shows no secret."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid = kid_for(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid.hex()})"


class KeyStore:
    """Encrypted private keys in one directory, named by kid."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _passphrase(self) -> bytes | None:
        if os.environ.get(INSECURE_MODE_VARIABLE) == "1":
            logger.warning(
                "%s=1: private keys are stored UNENCRYPTED; use only for development",
                INSECURE_MODE_VARIABLE,
            )
            return None
        passphrase = os.environ.get("WATHIQ_KEY_PASSPHRASE")
        path = os.environ.get("WATHIQ_KEY_PASSPHRASE_FILE")
        if passphrase is None and path:
            try:
                passphrase = Path(path).read_text().rstrip("\n")
            except OSError as error:
                raise KeyStoreError(
                    f"cannot read WATHIQ_KEY_PASSPHRASE_FILE {path}: {error.strerror}"
                ) from None
        if not passphrase:
            raise KeyStoreError(
                "no key passphrase: set WATHIQ_KEY_PASSPHRASE or"
                " WATHIQ_KEY_PASSPHRASE_FILE (or, for development only,"
                f" {INSECURE_MODE_VARIABLE}=1)"
            )
        if len(passphrase) < MIN_PASSPHRASE_CHARS:
            raise KeyStoreError(
                f"the key passphrase is too short; use at least {MIN_PASSPHRASE_CHARS}"
                " characters"
            )
        return passphrase.encode()

    def _path(self, kid: bytes) -> Path:
        return self.directory / f"{kid.hex()}.pem"

    def create(self) -> SigningKey:
        """Generate a key and store it; return it for immediate use."""
        passphrase = self._passphrase()
        key = SigningKey(Ed25519PrivateKey.generate())
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem = key._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        path = self._path(key.kid)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(pem)
        logger.info("created key %s", key.kid.hex())
        return key

    def load(self, kid: bytes) -> SigningKey:
        """Load and decrypt the private key `kid`."""
        path = self._path(kid)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"private key {kid.hex()} is not in {self.directory}"
            ) from None
        encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
        passphrase = self._passphrase() if encrypted else None
        try:
            private_key = serialization.load_pem_private_key(pem, passphrase)
        except (ValueError, TypeError):
            # Deliberately vague: the message must not depend on the key material.
            raise KeyStoreError(
                f"cannot decrypt private key {kid.hex()}: wrong passphrase or damaged"
                " file"
            ) from None
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyStoreError(f"private key {kid.hex()} is not an Ed25519 key")
        return SigningKey(private_key)
