"""Staff endpoints: issuance, revocation, lookups, the audit log, and their tokens."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount

from tests.api.conftest import REPO, Fixtures, example, server_env
from verify.api.app import create_app
from verify.api.settings import Settings
from verify.api.staff import roles_of

PUBLIC_ROUTES = {
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/verifications"),
    ("GET", "/"),
    ("POST", "/"),
    ("GET", "/v/{payload}"),
    ("GET", "/V/{payload}"),
    ("GET", "/v/{payload}/original.pdf"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/.well-known/wathiq/keys.json"),
    ("GET", "/.well-known/wathiq/status.json"),
    ("MOUNT", "/static"),
}
STAFF_ROUTES = {
    ("POST", "/api/v1/documents"): {"issuer"},
    ("POST", "/api/v1/documents/{document_id}/revocation"): {"revoker"},
    ("GET", "/api/v1/documents/{document_id}"): {"issuer", "revoker", "auditor"},
    ("GET", "/api/v1/documents/{document_id}/pdf"): {"issuer"},
    ("GET", "/api/v1/audit"): {"auditor"},
}
ROLES = ("issuer", "revoker", "auditor")


def all_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Yield every route of an app, inside included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from all_routes(included.routes)
        else:
            yield route


def route_keys(app: FastAPI) -> dict[tuple[str, str], BaseRoute]:
    keys: dict[tuple[str, str], BaseRoute] = {}
    for route in all_routes(app.routes):
        if isinstance(route, Mount):
            keys[("MOUNT", route.path)] = route
            continue
        for method in getattr(route, "methods", None) or []:
            if method != "HEAD":
                keys[(method, getattr(route, "path", ""))] = route
    return keys


@pytest.fixture(scope="module")
def app(prepared: Fixtures) -> FastAPI:
    return create_app(Settings(home=prepared.home, environment="development"))


def fill(path: str, prepared: Fixtures) -> str:
    assert prepared.attendance is not None
    return path.replace("{document_id}", prepared.attendance.document_id)


def call(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    # POST bodies are invalid on purpose: an allowed role then gets 422 and nothing
    # changes, and a refused one must get 401 or 403 before the body is read.
    if method == "POST":
        return client.post(path, json={"unexpected": True}, headers=headers)
    return client.get(path, headers=headers)


# Authentication on every route.


def test_every_route_is_public_or_staff(app: FastAPI):
    routes = set(route_keys(app))
    assert routes == PUBLIC_ROUTES | set(STAFF_ROUTES)


def test_staff_routes_declare_the_expected_roles(app: FastAPI):
    for key, route in route_keys(app).items():
        if key in STAFF_ROUTES:
            assert isinstance(route, APIRoute)
            assert {role.value for role in roles_of(route)} == STAFF_ROUTES[key], key


def test_staff_routes_refuse_missing_and_bad_tokens(
    app: FastAPI, client: httpx.Client, prepared: Fixtures
):
    staff = [key for key in route_keys(app) if key not in PUBLIC_ROUTES]
    assert len(staff) == len(STAFF_ROUTES)
    bad_headers = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer wqt_not-a-real-token"},
        {"Authorization": f"Bearer {prepared.revoked_token}"},
        {"Authorization": f"Bearer {prepared.tokens['issuer']}x"},
    ]
    for method, path in staff:
        for headers in bad_headers:
            response = call(client, method, fill(path, prepared), headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
            code = response.json()["error"]["code"]
            assert code in {"missing_token", "invalid_token"}


def test_staff_routes_refuse_other_roles(
    app: FastAPI, client: httpx.Client, prepared: Fixtures
):
    for (method, path), route in route_keys(app).items():
        if (method, path) in PUBLIC_ROUTES:
            continue
        assert isinstance(route, APIRoute)
        allowed = {role.value for role in roles_of(route)}
        for role in ROLES:
            response = call(
                client, method, fill(path, prepared), prepared.headers(role)
            )
            if role in allowed:
                assert response.status_code not in {401, 403}, (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role)
                assert response.json()["error"]["code"] == "forbidden"


def test_refused_role_is_audited(client: httpx.Client, prepared: Fixtures):
    client.get("/api/v1/audit", headers=prepared.headers("issuer"))
    entries = client.get(
        "/api/v1/audit", params={"limit": 5}, headers=prepared.headers("auditor")
    ).json()["entries"]
    denied = [entry for entry in entries if entry["action"] == "auth.denied"]
    assert denied
    assert denied[0]["actor"].startswith("Test issuer [token ")
    assert denied[0]["detail"] == "read_audit"


# Issuance.


def test_issue_document_returns_qr_text(client: httpx.Client, prepared: Fixtures):
    response = client.post(
        "/api/v1/documents",
        json={"type": "judgment_copy", "fields": example("judgment_copy")},
        headers=prepared.headers("issuer"),
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["created"] is True
    assert issued["verification_url"].startswith("HTTPS://")
    assert re.fullmatch(r"[0-9a-f]{64}", issued["pdf_sha256"])
    assert response.headers["location"] == f"/api/v1/documents/{issued['document_id']}"
    verdict = client.post("/api/v1/verifications", json={"qr_text": issued["qr_text"]})
    assert verdict.json()["status"] == "GENUINE"


def test_issue_document_as_pdf(client: httpx.Client, prepared: Fixtures):
    response = client.post(
        "/api/v1/documents",
        json={"type": "attendance_proof", "fields": example("attendance_proof")},
        headers={**prepared.headers("issuer"), "Accept": "application/pdf"},
    )
    assert response.status_code == 201
    assert response.content.startswith(b"%PDF-")
    document_id = response.headers["x-document-id"]
    verdict = client.post(
        "/api/v1/verifications",
        files={"file": ("doc.pdf", response.content)},
    ).json()
    assert verdict["document_id"] == document_id
    assert verdict["online"]["identical_to_original"] is True


def test_idempotency_key_replays_the_first_issue(
    client: httpx.Client, prepared: Fixtures
):
    body = {"type": "judgment_copy", "fields": example("judgment_copy")}
    headers = {**prepared.headers("issuer"), "Idempotency-Key": "batch-7:line-1"}
    first = client.post("/api/v1/documents", json=body, headers=headers)
    second = client.post("/api/v1/documents", json=body, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["document_id"] == first.json()["document_id"]


def test_idempotency_key_with_other_content_gives_409(
    client: httpx.Client, prepared: Fixtures
):
    headers = {**prepared.headers("issuer"), "Idempotency-Key": "reused-key"}
    fields = example("judgment_copy")
    first = client.post(
        "/api/v1/documents",
        json={"type": "judgment_copy", "fields": fields},
        headers=headers,
    )
    changed = {**fields, "case_number": "ADM-1447-999999"}
    second = client.post(
        "/api/v1/documents",
        json={"type": "judgment_copy", "fields": changed},
        headers=headers,
    )
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_reused"


def test_invalid_document_fields_give_422(client: httpx.Client, prepared: Fixtures):
    fields = {**example("judgment_copy"), "parties": []}
    response = client.post(
        "/api/v1/documents",
        json={"type": "judgment_copy", "fields": fields},
        headers=prepared.headers("issuer"),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_document"
    assert "parties" in response.json()["error"]["message"]


def test_unknown_document_type_gives_422(client: httpx.Client, prepared: Fixtures):
    response = client.post(
        "/api/v1/documents",
        json={"type": "marriage_contract", "fields": {}},
        headers=prepared.headers("issuer"),
    )
    assert response.status_code == 422
    assert "unknown document type" in response.json()["error"]["message"]


# Revocation and lookups.


def issue_one(client: httpx.Client, prepared: Fixtures) -> dict[str, str]:
    response = client.post(
        "/api/v1/documents",
        json={"type": "judgment_copy", "fields": example("judgment_copy")},
        headers=prepared.headers("issuer"),
    )
    assert response.status_code == 201
    issued: dict[str, str] = response.json()
    return issued


def test_revoke_document(client: httpx.Client, prepared: Fixtures):
    issued = issue_one(client, prepared)
    url = f"/api/v1/documents/{issued['document_id']}/revocation"
    response = client.post(
        url, json={"reason": "revoked"}, headers=prepared.headers("revoker")
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"
    verdict = client.post("/api/v1/verifications", json={"qr_text": issued["qr_text"]})
    assert verdict.json()["status"] == "REVOKED"
    again = client.post(
        url, json={"reason": "revoked"}, headers=prepared.headers("revoker")
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "registry_conflict"


def test_supersede_document(client: httpx.Client, prepared: Fixtures):
    old, new = issue_one(client, prepared), issue_one(client, prepared)
    response = client.post(
        f"/api/v1/documents/{old['document_id']}/revocation",
        json={"reason": "superseded", "successor_id": new["document_id"]},
        headers=prepared.headers("revoker"),
    )
    assert response.json()["successor_id"] == new["document_id"]
    verdict = client.post("/api/v1/verifications", json={"qr_text": old["qr_text"]})
    assert verdict.json()["online"]["successor_id"] == new["document_id"]


def test_revoke_unknown_document_gives_404(client: httpx.Client, prepared: Fixtures):
    response = client.post(
        "/api/v1/documents/AAAAAAAAAAAAAAAAAAAAAAAAAA/revocation",
        json={"reason": "revoked"},
        headers=prepared.headers("revoker"),
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "document_not_found"


def test_invalid_revocation_reason_gives_422(client: httpx.Client, prepared: Fixtures):
    assert prepared.attendance is not None
    response = client.post(
        f"/api/v1/documents/{prepared.attendance.document_id}/revocation",
        json={"reason": "lost"},
        headers=prepared.headers("revoker"),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_get_document(client: httpx.Client, prepared: Fixtures):
    assert prepared.revoked is not None
    response = client.get(
        f"/api/v1/documents/{prepared.revoked.document_id}",
        headers=prepared.headers("auditor"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "revoked"
    assert body["content"]["case_number"] == "ADM-1447-004471"


def test_get_unknown_document_gives_404(client: httpx.Client, prepared: Fixtures):
    response = client.get(
        "/api/v1/documents/NOSUCHDOCUMENT", headers=prepared.headers("issuer")
    )
    assert response.status_code == 404


def test_get_document_pdf(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.get(
        f"/api/v1/documents/{prepared.judgment.document_id}/pdf",
        headers=prepared.headers("issuer"),
    )
    assert response.content == prepared.judgment.pdf


# The audit log.


def test_audit_log_records_who_did_what(client: httpx.Client, prepared: Fixtures):
    issued = issue_one(client, prepared)
    client.post(
        f"/api/v1/documents/{issued['document_id']}/revocation",
        json={"reason": "set-aside"},
        headers=prepared.headers("revoker"),
    )
    response = client.get(
        "/api/v1/audit", params={"limit": 10}, headers=prepared.headers("auditor")
    )
    assert response.status_code == 200
    entries = response.json()["entries"]
    mine = {
        entry["action"]: entry
        for entry in entries
        if entry["document_id"] == issued["document_id"]
    }
    assert mine["document.issue"]["actor"].startswith("Test issuer [token ")
    assert mine["document.revoke"]["actor"].startswith("Test revoker [token ")
    assert mine["document.revoke"]["detail"] == "set-aside"
    assert all(entry["at"] for entry in mine.values())


def test_audit_log_never_holds_tokens(client: httpx.Client, prepared: Fixtures):
    response = client.get(
        "/api/v1/audit", params={"limit": 500}, headers=prepared.headers("auditor")
    )
    text = response.text
    for token in prepared.tokens.values():
        assert token not in text
    assert "wqt_" not in text


def test_audit_limit_is_capped(client: httpx.Client, prepared: Fixtures):
    response = client.get(
        "/api/v1/audit", params={"limit": 5000}, headers=prepared.headers("auditor")
    )
    assert response.status_code == 422


# The tokens command.


def run_wathiq(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli", *argv],
        cwd=REPO,
        env=server_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tokens_create_prints_token_once(prepared: Fixtures, client: httpx.Client):
    created = run_wathiq(
        prepared.home, "tokens", "create", "--role", "auditor", "--name", "Audit Office"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"wqt_[A-Za-z0-9_-]{43}", token)
    assert "shown only once" in created.stderr
    database = (prepared.home / "registry.db").read_bytes()
    wal = prepared.home / "registry.db-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in stored
    listing = run_wathiq(prepared.home, "tokens", "list")
    assert "Audit Office" in listing.stdout
    assert token not in listing.stdout
    answer = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_tokens_revoke_stops_the_token(prepared: Fixtures, client: httpx.Client):
    created = run_wathiq(
        prepared.home, "tokens", "create", "--role", "issuer", "--name", "Leaver"
    )
    token = created.stdout.strip()
    token_id = re.search(r"token ([0-9a-f]{12})", created.stderr)
    assert token_id
    revoked = run_wathiq(prepared.home, "tokens", "revoke", token_id.group(1))
    assert revoked.returncode == 0, revoked.stderr
    answer = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_tokens_create_rejects_unknown_role(prepared: Fixtures):
    result = run_wathiq(
        prepared.home, "tokens", "create", "--role", "admin", "--name", "X"
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
