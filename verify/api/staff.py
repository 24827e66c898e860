"""Staff endpoints: issue, revoke, look up documents and read the audit log.

Every route of this router declares its roles with `requires`, and the router's
route class checks the bearer token before anything else runs, the request body
included: a request without a valid token of an allowed role gets 401 or 403
whatever it carries. A route without declared roles fails when the app is built.

Writes go through one `Authority` per process under a lock, in a worker thread,
because its registry connection holds one transaction at a time (see
`verify.api.registries`). Every staff action and every refused role is written to
the registry's audit log with the token holder's name and token id.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from verify.api import tokens
from verify.api.errors import ApiError
from verify.api.metrics import Metrics
from verify.api.registries import ReadRegistry
from verify.api.schemas import (
    AuditResponse,
    DocumentResponse,
    ErrorResponse,
    IssuedResponse,
    IssueRequest,
    RevocationRequest,
)
from verify.api.tokens import Role, StaffIdentity
from verify.config import Home
from verify.documents import parse_document
from verify.registry import DocumentRow
from verify.signing.authority import Authority

__all__ = ["StaffContext", "requires", "roles_of", "staff_router"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
MAX_AUDIT_PAGE = 500

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No valid bearer token."},
    403: {"model": ErrorResponse, "description": "The token's role may not do this."},
}


def requires(*roles: Role) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Declare the token roles that may call a staff endpoint."""

    def mark(endpoint: Callable[..., T]) -> Callable[..., T]:
        endpoint.__dict__["wathiq_roles"] = frozenset(roles)
        return endpoint

    return mark


def roles_of(route: APIRoute) -> frozenset[Role]:
    """Return the roles a staff route allows (empty for any other route)."""
    roles: frozenset[Role] = route.endpoint.__dict__.get("wathiq_roles", frozenset())
    return roles


@dataclass
class StaffContext:
    """Dependencies of the staff endpoints: the data directory, registry and clock."""

    home: Home
    registry: ReadRegistry | None
    clock: Callable[[], datetime]
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._authority: Authority | None = None

    def read_registry(self) -> ReadRegistry:
        if self.registry is None:
            raise ApiError(
                503,
                "registry_unavailable",
                f"no registry at {self.home.registry_path}; run 'wathiq keys init'"
                " and restart the service",
            )
        return self.registry

    async def write(self, action: Callable[[Authority], T]) -> T:
        """Run `action` with the process's Authority, one at a time, in a thread."""
        self.read_registry()

        def locked() -> T:
            with self._lock:
                if self._authority is None:
                    self._authority = Authority(self.home)
                return action(self._authority)

        return await anyio.to_thread.run_sync(locked)

    async def audit(
        self,
        identity: StaffIdentity,
        action: str,
        document_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        def record(authority: Authority) -> None:
            registry = authority.registry
            with registry.transaction() as db:
                registry.audit(db, identity.actor, action, document_id, detail)

        await self.write(record)

    def close(self) -> None:
        """Close the Authority's registry connection, if one was opened."""
        with self._lock:
            if self._authority is not None:
                self._authority.registry.close()
                self._authority = None

    def count(self, action: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.staff_actions.labels(action=action, result=result).inc()


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, {"WWW-Authenticate": 'Bearer realm="wathiq"'})


def _route_class(context: StaffContext) -> type[APIRoute]:
    class StaffRoute(APIRoute):
        """A route that authenticates the bearer token before its handler runs."""

        def get_route_handler(
            self,
        ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            roles = roles_of(self)
            if not roles:
                raise RuntimeError(f"staff route {self.path} declares no roles")
            action = self.name

            async def authenticated(request: Request) -> Response:
                request.state.staff = await _authenticate(
                    context, request, roles, action
                )
                return await handler(request)

            return authenticated

    return StaffRoute


async def _authenticate(
    context: StaffContext, request: Request, roles: frozenset[Role], action: str
) -> StaffIdentity:
    header = request.headers.get("authorization")
    if not header:
        context.count(action, "unauthenticated")
        raise _unauthorized(
            "missing_token",
            "this endpoint needs a staff token: send 'Authorization: Bearer <token>'",
        )
    scheme, _, token = header.partition(" ")
    registry = context.read_registry()
    identity = None
    if scheme.lower() == "bearer" and token.strip():
        identity = tokens.authenticate(registry.connection(), token.strip())
    if identity is None:
        context.count(action, "unauthenticated")
        logger.warning("rejected an invalid or revoked bearer token on %s", action)
        raise _unauthorized(
            "invalid_token",
            "the bearer token is unknown or revoked; ask an administrator for a"
            " token ('wathiq tokens create')",
        )
    if identity.role not in roles:
        context.count(action, "forbidden")
        logger.warning(
            "rejected token %s with role %s on %s",
            identity.token_id,
            identity.role,
            action,
        )
        await context.audit(identity, "auth.denied", detail=action)
        allowed = " or ".join(sorted(role.value for role in roles))
        raise ApiError(
            403,
            "forbidden",
            f"a token with role {identity.role.value} may not do this; it needs"
            f" the role {allowed}",
        )
    return identity


def _identity(request: Request) -> StaffIdentity:
    identity: StaffIdentity = request.state.staff
    return identity


def _document_body(row: DocumentRow) -> dict[str, Any]:
    return DocumentResponse(
        id=row.id,
        type=row.type,
        status=row.status,
        successor_id=row.successor_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        kid=row.kid,
        content_digest=row.content_digest,
        pdf_sha256=row.pdf_sha256,
        content=row.content,
    ).model_dump()


def _request_key(request: Request, identity: StaffIdentity) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 100 letters, digits or . _ : -",
        )
    # The token id is part of the request key, so two clients that pick the same
    # Idempotency-Key get separate documents.
    return f"api:{identity.token_id}:{key}"


def staff_router(context: StaffContext) -> APIRouter:
    """Return the router of the staff endpoints, all behind bearer tokens."""
    router = APIRouter(
        route_class=_route_class(context),
        tags=["staff"],
        responses=_AUTH_RESPONSES,
        dependencies=[
            Security(
                HTTPBearer(
                    auto_error=False,
                    description="A staff token from 'wathiq tokens create'.",
                )
            )
        ],
    )

    @router.post(
        "/api/v1/documents",
        summary="Issue a document",
        status_code=201,
        response_model=IssuedResponse,
        responses={
            200: {"model": IssuedResponse, "description": "Issued before (same key)."},
            409: {"model": ErrorResponse, "description": "Idempotency-Key reused."},
            422: {"model": ErrorResponse, "description": "Invalid document fields."},
            503: {"model": ErrorResponse, "description": "Signing keys unavailable."},
        },
    )
    @requires(Role.ISSUER)
    async def issue_document(request: Request, body: IssueRequest) -> Response:
        identity = _identity(request)
        document = parse_document(body.type, body.fields)
        request_key = _request_key(request, identity)
        now = context.clock()
        issued = await context.write(
            lambda authority: authority.issue(
                document,
                now,
                actor=identity.actor,
                request_key=request_key,
                with_pdf=True,
            )
        )
        if not issued.created:
            row = context.read_registry().document(issued.document_id)
            if row.content_digest != document.digest.hex():
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    "this Idempotency-Key already issued a document with other"
                    " content; use a new key for a new document",
                )
        context.count("issue_document", "created" if issued.created else "replayed")
        location = f"/api/v1/documents/{issued.document_id}"
        if "application/pdf" in request.headers.get("accept", ""):
            assert issued.pdf is not None
            return Response(
                issued.pdf,
                status_code=201 if issued.created else 200,
                media_type="application/pdf",
                headers={"Location": location, "X-Document-Id": issued.document_id},
            )
        body_out = IssuedResponse(
            document_id=issued.document_id,
            qr_text=issued.qr_text,
            verification_url=issued.qr_text,
            created=issued.created,
            pdf_sha256=context.read_registry().pdf_sha256(issued.document_id),
        )
        return JSONResponse(
            body_out.model_dump(),
            status_code=201 if issued.created else 200,
            headers={"Location": location},
        )

    @router.post(
        "/api/v1/documents/{document_id}/revocation",
        summary="Revoke, supersede or set aside a document",
        response_model=DocumentResponse,
        responses={
            404: {"model": ErrorResponse, "description": "No such document."},
            409: {"model": ErrorResponse, "description": "Already revoked."},
        },
    )
    @requires(Role.REVOKER)
    async def revoke_document(
        request: Request, document_id: str, body: RevocationRequest
    ) -> dict[str, Any]:
        identity = _identity(request)
        now = context.clock()
        await context.write(
            lambda authority: authority.revoke(
                document_id,
                body.reason,
                now,
                successor_id=body.successor_id,
                actor=identity.actor,
            )
        )
        context.count("revoke_document", body.reason)
        return _document_body(context.read_registry().document(document_id))

    @router.get(
        "/api/v1/documents/{document_id}",
        summary="Look up a document in the registry",
        response_model=DocumentResponse,
        responses={404: {"model": ErrorResponse, "description": "No such document."}},
    )
    @requires(Role.ISSUER, Role.REVOKER, Role.AUDITOR)
    async def get_document(request: Request, document_id: str) -> dict[str, Any]:
        identity = _identity(request)
        row = context.read_registry().document(document_id)
        await context.audit(identity, "document.read", row.id)
        context.count("get_document", "ok")
        return _document_body(row)

    @router.get(
        "/api/v1/documents/{document_id}/pdf",
        summary="Download the issued PDF of a document",
        response_class=Response,
        responses={
            200: {"content": {"application/pdf": {}}},
            404: {"model": ErrorResponse, "description": "No such document or PDF."},
        },
    )
    @requires(Role.ISSUER)
    async def get_document_pdf(request: Request, document_id: str) -> Response:
        identity = _identity(request)
        registry = context.read_registry()
        pdf = registry.pdf(document_id)
        if pdf is None:
            raise ApiError(
                404, "pdf_not_found", f"document {document_id} was issued without a PDF"
            )
        row = registry.document(document_id)
        await context.audit(identity, "document.pdf", row.id)
        context.count("get_document_pdf", "ok")
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{row.id}.pdf"'},
        )

    @router.get(
        "/api/v1/audit",
        summary="Read the audit log, newest first",
        response_model=AuditResponse,
    )
    @requires(Role.AUDITOR)
    async def read_audit(
        request: Request,
        limit: int = Query(default=100, ge=1, le=MAX_AUDIT_PAGE),
        offset: int = Query(default=0, ge=0),
    ) -> dict[str, Any]:
        identity = _identity(request)
        entries = context.read_registry().connection().audit_entries(limit, offset)
        await context.audit(identity, "audit.read", detail=f"offset {offset}")
        context.count("read_audit", "ok")
        return {"entries": entries, "limit": limit, "offset": offset}

    return router
