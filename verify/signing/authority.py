"""The issuing authority: keys, issuance, revocation and publication.

It ties the key store, the registry and the published lists of one data directory
together. Each operation that writes the registry runs in one transaction, and the
published files it changes are replaced atomically before that transaction commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from verify.config import DEFAULT_BASE_URL, Home
from verify.crypto import jwk_from_public_key
from verify.documents import DOCUMENT_TYPES, Document
from verify.errors import DocumentInputError, KeyStoreError, RegistryError
from verify.payload import DocumentClaims, format_document_id, qr_text_for
from verify.registry import REVOCATION_REASONS, STATUS_LIST_SIZE, Registry
from verify.signing.keys import KeyStore, SigningKey
from verify.signing.publish import build_key_list, build_status_list
from verify.signing.signer import claims_for, new_document_id, sign_claims
from verify.trust import TrustStore, _write_atomic, canonical_json

__all__ = ["Authority", "IssuedDocument"]

logger = logging.getLogger(__name__)

KEY_LIST_LIFETIME = timedelta(days=30)
MAX_INDEX_ATTEMPTS = 8
STATUS_LIST_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class IssuedDocument:
    document_id: str
    qr_text: str
    pdf: bytes | None
    created: bool
    """False when an earlier issuance with the same request key was returned."""


def default_courts() -> dict[str, Any]:
    text = resources.files("verify").joinpath("data/courts.json").read_text("utf-8")
    courts: dict[str, Any] = json.loads(text)
    return courts


class Authority:
    def __init__(self, home: Home, registry: Registry | None = None) -> None:
        self.home = home
        self.registry = registry or Registry(home.registry_path)
        self.keystore = KeyStore(home.private_dir)
        self._loaded: dict[str, SigningKey] = {}
        self._warned_base_url = False

    def _signing_key(self, kid: str) -> SigningKey:
        if kid not in self._loaded:
            self._loaded[kid] = self.keystore.load(bytes.fromhex(kid))
        return self._loaded[kid]

    def _active(self, use: str, court: str | None = None) -> dict[str, Any]:
        for key in reversed(self.registry.keys()):
            in_court = court is None or key["court"] == court
            if key["use"] == use and key["status"] == "active" and in_court:
                return key
        where = f" for court {court}" if court else ""
        raise KeyStoreError(
            f"no active {use} key{where};"
            " run 'wathiq keys init' or 'wathiq keys rotate'"
        )

    # Keys.

    def init_keys(self, court: str, now: datetime) -> dict[str, str]:
        """Create the root key, a first issuing key and a status-list key."""
        if self.registry.keys():
            raise KeyStoreError(
                f"keys already exist in {self.home.root}; use 'wathiq keys rotate'"
            )
        if court not in default_courts():
            raise KeyStoreError(
                f"unknown court code {court!r}; known: {', '.join(default_courts())}"
            )
        created = {}
        with self.registry.transaction() as db:
            for use, types in (
                ("root", []),
                ("documents", list(DOCUMENT_TYPES)),
                ("status", []),
            ):
                key = self.keystore.create()
                self.registry.add_key(db, _key_row(key, use, court, types, now))
                created[use] = key.kid.hex()
            self.registry.audit(db, "cli", "keys.init", detail=json.dumps(created))
        root = self._active("root")
        TrustStore.pin(self.home.trust_dir, root["jwk"])
        return created

    def _check_passphrase(self) -> None:
        """Decrypt the active root key, so a wrong passphrase fails before any change.

        Without this, a new key would be written encrypted with the wrong passphrase.
        """
        self._signing_key(self._active("root")["kid"])

    def _check_court(self, court: str | None) -> None:
        if court is not None and court not in default_courts():
            known = ", ".join(default_courts())
            raise KeyStoreError(f"unknown court code {court!r}; known: {known}")

    def _latest(self, use: str, court: str | None = None) -> dict[str, Any]:
        """Return the newest key of `use` for `court`, whatever its status."""
        for key in reversed(self.registry.keys()):
            if key["use"] == use and (court is None or key["court"] == court):
                return key
        raise KeyStoreError(f"no {use} key exists; run 'wathiq keys init' first")

    def rotate(
        self, now: datetime, court: str | None = None, use: str = "documents"
    ) -> str:
        """Add a new key of `use` and retire the active one it replaces.

        Also works when the newest key is compromised: the replacement takes its
        scope, and the compromised key keeps its status.
        """
        self._check_court(court)
        self._check_passphrase()
        old = self._latest(use, court)
        new = self.keystore.create()
        with self.registry.transaction() as db:
            db.execute(
                "UPDATE keys SET status = 'retired', valid_until = ?"
                " WHERE kid = ? AND status = 'active'",
                [now.isoformat(), old["kid"]],
            )
            row = _key_row(new, use, old["court"], old["document_types"], now)
            self.registry.add_key(db, row)
            detail = f"{old['kid']} -> {new.kid.hex()}"
            self.registry.audit(db, "cli", f"keys.rotate.{use}", detail=detail)
        return new.kid.hex()

    def rotate_root(self, now: datetime) -> str:
        """Create a new root key; the next key list is signed by old and new root."""
        self._check_passphrase()
        old = self._active("root")
        new = self.keystore.create()
        with self.registry.transaction() as db:
            db.execute(
                "UPDATE keys SET status = 'retired', valid_until = ? WHERE kid = ?",
                [now.isoformat(), old["kid"]],
            )
            self.registry.add_key(db, _key_row(new, "root", old["court"], [], now))
            detail = f"{old['kid']} -> {new.kid.hex()}"
            self.registry.audit(db, "cli", "keys.rotate-root", detail=detail)
        return new.kid.hex()

    def compromise(self, kid: str, since: datetime, now: datetime) -> str | None:
        """Mark a key compromised from `since`, and replace it if it was active.

        Returns the replacement key's kid, so issuing (or publishing status lists)
        can go on at once.
        """
        key = self.registry.key(kid.strip().lower())
        if key is None:
            raise KeyStoreError(
                f"key {kid} is not in the registry; see 'wathiq keys list'"
            )
        if key["use"] == "root":
            raise KeyStoreError(
                "a compromised root key cannot be replaced through the key list it"
                " signs; create a new deployment and pin its root on every verifier"
            )
        if key["status"] == "compromised":
            raise KeyStoreError(f"key {key['kid']} is already marked compromised")
        if since > now:
            raise KeyStoreError(
                "--since is in the future; give when the compromise began"
            )
        self._check_passphrase()
        replacement = None
        if key["status"] == "active":
            new = self.keystore.create()
            replacement = new.kid.hex()
        with self.registry.transaction() as db:
            db.execute(
                "UPDATE keys SET status = 'compromised', compromised_at = ?"
                " WHERE kid = ?",
                [since.isoformat(), key["kid"]],
            )
            if replacement is not None:
                row = _key_row(
                    new, key["use"], key["court"], key["document_types"], now
                )
                self.registry.add_key(db, row)
            detail = f"{key['kid']} -> {replacement}"
            self.registry.audit(db, "cli", "keys.compromise", detail=detail)
        return replacement

    # Publication.

    def publish(self, now: datetime, out_dir: Path | None = None) -> list[Path]:
        """Write keys.json and status.json, and update this machine's trust store."""
        out = out_dir or self.home.public_dir
        root = self._active("root")
        # root.json lets a new verifier pin the root, after checking its kid against
        # one obtained out of band; it is never trusted on its own.
        root_bytes = canonical_json({"kid": root["kid"], "jwk": root["jwk"]}) + b"\n"
        with self.registry.transaction() as db:
            keys_bytes = self._key_list(db, now)
            status_bytes = self._status_list(db, now)
            files = {"keys.json": keys_bytes, "status.json": status_bytes}
            files["root.json"] = root_bytes
            for directory in {out, self.home.public_dir}:
                for name, data in files.items():
                    _write_atomic(directory / name, data)
            self.registry.audit(db, "cli", "keys.publish", detail=str(out))
        paths = [out / "keys.json", out / "status.json", out / "root.json"]
        self._update_trust_store(now, keys_bytes, status_bytes)
        return paths

    def _key_list(self, db: Any, now: datetime) -> bytes:
        keys = self.registry.keys()
        root = self._signing_key(self._active("root")["kid"])
        retired_roots = [
            key for key in keys if key["use"] == "root" and key["status"] == "retired"
        ]
        # A rotated root signs once more, so verifiers pinning it accept the new one.
        previous = (
            [self._signing_key(retired_roots[-1]["kid"])] if retired_roots else []
        )
        return build_key_list(
            version=self.registry.next_version(db, "keys", now.isoformat()),
            issued_at=now,
            expires_at=now + KEY_LIST_LIFETIME,
            root=root,
            keys=[key for key in keys if key["use"] != "root"],
            courts=default_courts(),
            previous_roots=previous,
        )

    def _status_list(self, db: Any, now: datetime) -> bytes:
        return build_status_list(
            version=self.registry.next_version(db, "status", now.isoformat()),
            issued_at=now,
            expires_at=now + STATUS_LIST_LIFETIME,
            size=STATUS_LIST_SIZE,
            entries=self.registry.status_entries(),
            signer=self._signing_key(self._active("status")["kid"]),
        )

    def _update_trust_store(
        self, now: datetime, keys_bytes: bytes | None, status_bytes: bytes
    ) -> None:
        store = TrustStore.load(self.home.trust_dir)
        if keys_bytes is None and store.key_list is None:
            return
        if keys_bytes is not None:
            store.accept_key_list(keys_bytes, now)
        store.accept_status_list(status_bytes, now)

    # Documents.

    def issue(
        self,
        document: Document,
        now: datetime,
        *,
        actor: str = "cli",
        request_key: str | None = None,
        with_pdf: bool = False,
    ) -> IssuedDocument:
        """Sign `document`, record it, and return its id, QR text and PDF.

        With a `request_key` seen before, the earlier document is returned instead,
        so a batch or a client retry never issues a duplicate.
        """
        if request_key is not None:
            earlier = self.registry.document_by_request_key(request_key)
            if earlier is not None:
                pdf = self.registry.pdf(earlier.id) if with_pdf else None
                return IssuedDocument(earlier.id, earlier.qr_text, pdf, False)
        if self.home.base_url == DEFAULT_BASE_URL and not self._warned_base_url:
            self._warned_base_url = True
            logger.warning(
                "QR codes link to the example address %s; set WATHIQ_BASE_URL to the"
                " court's verification page before printing documents",
                DEFAULT_BASE_URL,
            )
        court = document.content["court"]
        _check_court_codes(court, document.content["circuit"])
        key_row = self._active("documents", court)
        if document.type not in key_row["document_types"]:
            raise KeyStoreError(
                f"the active key of {court} may not sign {document.type}"
            )
        key = self._signing_key(key_row["kid"])
        for _ in range(MAX_INDEX_ATTEMPTS):
            # Sign and render outside the write transaction, which then only
            # inserts: concurrent issuers hold the database lock for milliseconds.
            # The status index was free when picked; the UNIQUE constraint catches
            # the rare case of another issuer taking it meanwhile.
            index = self.registry.allocate_status_index(self.registry.db)
            claims = claims_for(
                document,
                document_id=new_document_id(),
                status_index=index,
                issued_at=now,
            )
            qr_text = qr_text_for(sign_claims(claims, key), self.home.base_url)
            pdf = self._render(document, claims, qr_text) if with_pdf else None
            try:
                return self._record(
                    document, claims, key_row["kid"], qr_text, pdf, actor, request_key
                )
            except sqlite3.IntegrityError as error:
                if "status_index" not in str(error):
                    raise
                logger.debug("status index %d was taken meanwhile; retrying", index)
        raise RegistryError("could not find a free status-list index; try again")

    def _record(
        self,
        document: Document,
        claims: DocumentClaims,
        kid: str,
        qr_text: str,
        pdf: bytes | None,
        actor: str,
        request_key: str | None,
    ) -> IssuedDocument:
        text_id = claims.document_id_text
        with self.registry.transaction() as db:
            if request_key is not None:
                earlier = self.registry.document_by_request_key(request_key)
                if earlier is not None:
                    pdf = self.registry.pdf(earlier.id) if pdf is not None else None
                    return IssuedDocument(earlier.id, earlier.qr_text, pdf, False)
            expires = claims.expires_at.isoformat() if claims.expires_at else None
            self.registry.insert_document(
                db,
                {
                    "id": text_id,
                    "type": document.type,
                    "content": document.content,
                    "kid": kid,
                    "issued_at": claims.issued_at.isoformat(),
                    "expires_at": expires,
                    "content_digest": document.digest.hex(),
                    "status_index": claims.status_index,
                    "status": "valid",
                    "qr_text": qr_text,
                    "pdf": pdf,
                    "pdf_sha256": hashlib.sha256(pdf).hexdigest() if pdf else None,
                    "request_key": request_key,
                },
            )
            self.registry.audit(db, actor, "document.issue", text_id, document.type)
        logger.info("issued %s %s", document.type, text_id)
        return IssuedDocument(text_id, qr_text, pdf, True)

    def _render(self, document: Document, claims: Any, qr_text: str) -> bytes:
        from verify.signing.render import Letterhead, render_pdf

        names = default_courts().get(claims.court, {})
        circuit = names.get("circuits", {}).get(claims.circuit, {})
        letterhead = Letterhead(
            court_ar=names.get("name_ar", claims.court),
            court_en=names.get("name_en", claims.court),
            circuit_ar=circuit.get("name_ar", claims.circuit),
            circuit_en=circuit.get("name_en", claims.circuit),
        )
        return render_pdf(
            document,
            document_id=format_document_id(claims.document_id),
            issued_at=claims.issued_at,
            qr_text=qr_text,
            letterhead=letterhead,
        )

    def revoke(
        self,
        document_id: str,
        reason: str,
        now: datetime,
        *,
        successor_id: str | None = None,
        actor: str = "cli",
    ) -> None:
        """Mark a document revoked, superseded or set aside, and republish status."""
        if reason not in REVOCATION_REASONS:
            choices = ", ".join(REVOCATION_REASONS)
            raise RegistryError(f"unknown reason {reason!r}; use one of: {choices}")
        row = self.registry.document(document_id)
        if successor_id is not None:
            successor = self.registry.document(successor_id)
            successor_id = successor.id
            if successor_id == row.id:
                raise RegistryError("a document cannot be its own successor")
            if successor.type != row.type or successor.status != "valid":
                raise RegistryError(
                    f"the successor {successor_id} must be a valid {row.type}"
                )
        with self.registry.transaction() as db:
            # The status is checked inside the write transaction, so two staff
            # revoking the same document at once cannot both succeed.
            changed = db.execute(
                "UPDATE documents SET status = ?, successor_id = ?, revoked_at = ?"
                " WHERE id = ? AND status = 'valid'",
                [reason, successor_id, now.isoformat(), row.id],
            ).rowcount
            if changed != 1:
                current = self.registry.document(row.id).status
                raise RegistryError(f"document {row.id} is already {current}")
            status_bytes = self._status_list(db, now)
            _write_atomic(self.home.public_dir / "status.json", status_bytes)
            self.registry.audit(db, actor, "document.revoke", row.id, reason)
        self._update_trust_store(now, None, status_bytes)
        logger.info("revoked %s (%s)", row.id, reason)


def _check_court_codes(court: str, circuit: str) -> None:
    """Raise DocumentInputError unless the court and circuit codes are known."""
    courts = default_courts()
    if court not in courts:
        known = ", ".join(courts)
        raise DocumentInputError(f"unknown court code {court!r}; known: {known}")
    circuits = courts[court].get("circuits", {})
    if circuit not in circuits:
        known = ", ".join(circuits)
        raise DocumentInputError(
            f"unknown circuit {circuit!r} of court {court}; known: {known}"
        )


def _key_row(
    key: SigningKey, use: str, court: str, types: list[str], now: datetime
) -> dict[str, Any]:
    # Whole seconds, like the iat claim, so a document signed in the same second
    # as its key was created falls inside the key's validity.
    now = now.replace(microsecond=0)
    return {
        "kid": key.kid.hex(),
        "use": use,
        "court": court,
        "document_types": types,
        "jwk": jwk_from_public_key(key.public_key),
        "valid_from": now.isoformat(),
        "valid_until": None,
        "status": "active",
        "compromised_at": None,
        "created_at": now.isoformat(),
    }
