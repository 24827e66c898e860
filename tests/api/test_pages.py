"""The public pages over HTTP: the form, result pages, downloads and headers."""

from __future__ import annotations

import re

import httpx

from tests.api.conftest import Fixtures
from verify.api.middleware import SECURITY_HEADERS

GENUINE_AR = "المستند صحيح وصادر من المحكمة"
NOT_GENUINE_AR = "المستند غير صحيح أو غير ساري"
CANNOT_VERIFY_EN = "Cannot verify here"


def headline(html: str) -> str:
    match = re.search(r'<h1 id="headline">(.*?)</h1>', html, re.DOTALL)
    assert match, "the page has no headline"
    return match.group(1).strip()


def test_form_page_is_arabic_first(client: httpx.Client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="ar" dir="rtl">' in response.text
    assert 'name="qr_text"' in response.text
    assert 'type="file"' in response.text


def test_form_page_in_english(client: httpx.Client):
    response = client.get("/", params={"lang": "en"})
    assert '<html lang="en" dir="ltr">' in response.text
    assert "Verify" in response.text


def test_pages_load_nothing_from_other_sites(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    for path in ("/", f"/v/{prepared.judgment.payload}"):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, path
        external = [url for url in sources if not url.startswith(("/", "?"))]
        assert external == [], path
        assert "<script>" not in html, "inline scripts are forbidden by the CSP"
        assert "style=" not in html, "inline styles are forbidden by the CSP"


def test_security_headers_on_every_kind_of_answer(
    client: httpx.Client, prepared: Fixtures
):
    assert prepared.judgment is not None
    answers = [
        client.get("/"),
        client.get(f"/v/{prepared.judgment.payload}"),
        client.get("/static/wathiq.css"),
        client.get("/healthz"),
        client.get("/nothing-here"),
        client.post("/api/v1/verifications", json={"qr_text": "x"}),
    ]
    for response in answers:
        for name, value in SECURITY_HEADERS.items():
            if name == "cross-origin-resource-policy":
                continue
            assert response.headers.get(name) == value, (response.url, name)
        assert response.headers["x-request-id"]


def test_csp_allows_only_own_scripts(client: httpx.Client):
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy


def test_genuine_result_page(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.get(f"/v/{prepared.judgment.payload}")
    assert response.status_code == 200
    assert headline(response.text) == GENUINE_AR
    assert prepared.judgment.document_id in response.text
    assert "عبدالرحمن بن سليمان بن عبدالعزيز الدوسري" in response.text
    assert 'data-status="GENUINE"' in response.text
    assert f"/v/{prepared.judgment.payload}/original.pdf" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-robots-tag"] == "noindex"


def test_uppercase_path_from_phone_camera(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.get(prepared.judgment.qr_text.split("WATHIQ.EXAMPLE.SA", 1)[1])
    assert response.status_code == 200
    assert headline(response.text) == GENUINE_AR


def test_result_page_in_english(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.get(f"/v/{prepared.judgment.payload}", params={"lang": "en"})
    assert headline(response.text) == "Genuine document issued by the court"
    assert "Administrative Court in Riyadh" in response.text
    assert f'href="/v/{prepared.judgment.payload}?lang=ar"' in response.text


def test_revoked_result_page(client: httpx.Client, prepared: Fixtures):
    assert prepared.revoked is not None
    html = client.get(f"/v/{prepared.revoked.payload}").text
    assert headline(html) == NOT_GENUINE_AR
    assert "أُلغي هذا المستند" in html
    assert "original.pdf" not in html


def test_superseded_page_names_replacement(client: httpx.Client, prepared: Fixtures):
    assert prepared.superseded is not None and prepared.successor is not None
    html = client.get(f"/v/{prepared.superseded.payload}", params={"lang": "en"}).text
    assert "Replacement document:" in html
    assert prepared.successor.document_id in html


def test_damaged_payload_page(client: httpx.Client):
    response = client.get("/v/WQ1.AAAAAAAA", params={"lang": "en"})
    assert response.status_code == 200
    assert 'data-status="MALFORMED"' in response.text


def test_foreign_code_page(client: httpx.Client):
    response = client.get("/v/hello", params={"lang": "en"})
    assert headline(response.text) == CANNOT_VERIFY_EN


def test_pasted_text_redirects_to_result(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.post(
        "/", data={"qr_text": f"  {prepared.judgment.qr_text}\n", "lang": "en"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == (f"/v/{prepared.judgment.payload}?lang=en")


def test_uploaded_scan_shows_result(
    client: httpx.Client, prepared: Fixtures, scan_png: bytes
):
    response = client.post(
        "/", data={"lang": "ar"}, files={"file": ("scan.png", scan_png, "image/png")}
    )
    assert response.status_code == 200
    assert headline(response.text) == GENUINE_AR


def test_form_without_input_shows_error(client: httpx.Client):
    response = client.post("/", data={"qr_text": "  ", "lang": "en"})
    assert response.status_code == 422
    assert "Paste the QR text or choose a file" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_unsupported_upload_shows_415_page(client: httpx.Client):
    response = client.post(
        "/", files={"file": ("x.gif", b"GIF89a" + b"\x00" * 40, "image/gif")}
    )
    assert response.status_code == 415
    assert "unsupported_media_type" in response.text


def test_original_pdf_download(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = client.get(f"/v/{prepared.judgment.payload}/original.pdf")
    assert response.status_code == 200
    assert response.content == prepared.judgment.pdf
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]


def test_revoked_document_has_no_download(client: httpx.Client, prepared: Fixtures):
    assert prepared.revoked is not None
    response = client.get(f"/v/{prepared.revoked.payload}/original.pdf")
    assert response.status_code == 404
    assert "original_not_available" in response.text


def test_document_without_pdf_has_no_download(client: httpx.Client, prepared: Fixtures):
    assert prepared.attendance is not None
    page = client.get(f"/v/{prepared.attendance.payload}").text
    assert headline(page) == GENUINE_AR
    assert "original.pdf" not in page
    response = client.get(f"/v/{prepared.attendance.payload}/original.pdf")
    assert response.status_code == 404


def test_forged_payload_gets_no_download(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    payload = prepared.judgment.payload
    forged = payload[:-4] + ("AAAA" if not payload.endswith("AAAA") else "BBBB")
    response = client.get(f"/v/{forged}/original.pdf")
    assert response.status_code == 404


def test_static_files_are_served(client: httpx.Client):
    css = client.get("/static/wathiq.css")
    script = client.get("/static/camera.js")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert script.status_code == 200
    assert "getUserMedia" in script.text
