"""Load test of ``wathiq serve`` beside a bare FastAPI endpoint, in one run.

Usage: python bench/api_load.py [--duration SECONDS] [--rounds N] [--json FILE]

The script makes a throwaway WATHIQ_HOME with keys and `--documents` issued
judgments. It then starts two servers on free ports of 127.0.0.1, each with 2
uvicorn workers:

- ``wathiq serve``, in the development environment with rate limits raised out of
  the way and its usual INFO access log written to a file;
- a bare FastAPI app (`create_bare_app`) whose endpoint parses the same JSON body
  and does one raw Ed25519 verify of a fixed signature, and nothing else.

For each of three targets (wathiq with QR text, wathiq with a 300 dpi scan upload,
bare with QR text) it measures:

1. saturation: a closed loop of `--connections` keep-alive connections for
   `--duration` seconds, with wrk when it is installed (``apt-get install wrk``)
   or else the asyncio client below. It reports throughput and p50/p99 latency
   of the median of `--rounds` rounds.
2. half load: an open loop at half the saturation throughput, with latency counted
   from each request's scheduled send time, so a stalled server is not hidden by
   a client that waits for it (coordinated omission).

The load generator shares the machine's cores with the servers, so throughput is a
lower bound of what the servers do on their own. The asyncio client writes raw
HTTP/1.1 on keep-alive connections, because httpx costs more CPU per request than
the endpoints being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PASSPHRASE = "benchmark passphrase, not secret"
VECTOR_VARIABLE = "WATHIQ_BENCH_ED25519_VECTOR"
GOAL_RATIO = 0.8
GOAL_P99_MS = 50.0
START_TIMEOUT_SECONDS = 60
# Past this many requests in flight, the open loop skips sends and counts them as
# errors, because the server has fallen behind the schedule.
MAX_IN_FLIGHT = 512


# The bare endpoint. uvicorn imports this module in each of its workers.


class BareRequest(BaseModel):
    qr_text: str


def create_bare_app() -> Any:
    """Return a FastAPI app whose one endpoint does a raw Ed25519 verify."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from fastapi import FastAPI

    vector = json.loads(os.environ[VECTOR_VARIABLE])
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vector["key"]))
    message = bytes.fromhex(vector["message"])
    signature = bytes.fromhex(vector["signature"])

    app = FastAPI()

    @app.post("/verify")
    async def verify(body: BareRequest) -> dict[str, bool]:
        public_key.verify(signature, message)
        return {"valid": True}

    return app


# Fixtures and servers.


@dataclass
class Target:
    name: str
    port: int
    path: str
    bodies: list[bytes]
    """Request bodies, sent in turn."""
    content_type: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare_home(home: Path, documents: int) -> tuple[list[str], bytes, dict[str, str]]:
    """Create keys and `documents` judgments in `home`.

    Returns their QR texts, a 300 dpi scan of the first one's PDF, and the first
    one's signature as a test vector for the bare endpoint.
    """
    os.environ["WATHIQ_KEY_PASSPHRASE"] = PASSPHRASE
    import pypdfium2 as pdfium

    from verify.config import Home
    from verify.crypto import public_key_from_jwk
    from verify.documents import parse_document
    from verify.payload import decode_cose, payload_from_qr_text
    from verify.signing.authority import Authority

    authority = Authority(Home(home))
    now = datetime.now(UTC)
    authority.init_keys("RYD-ADM", now)
    authority.publish(now)
    fields = json.loads((REPO / "examples" / "judgment_copy.json").read_text("utf-8"))
    texts = []
    pdf = None
    for number in range(documents):
        document = parse_document(
            "judgment_copy", {**fields, "case_number": f"ADM-1447-{number:06d}"}
        )
        issued = authority.issue(document, now, with_pdf=number == 0)
        texts.append(issued.qr_text)
        pdf = pdf or issued.pdf
    assert pdf is not None

    rendered = pdfium.PdfDocument(pdf)
    page = rendered[0]
    image = page.render(scale=300 / 72, grayscale=True).to_pil()
    page.close()
    rendered.close()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")

    # The bare endpoint verifies a document's own signature over its Sig_structure.
    cose = decode_cose(payload_from_qr_text(texts[0]))
    rows = authority.registry.keys()
    key = next(row for row in rows if row["kid"] == cose.kid.hex())
    vector = {
        "key": public_key_from_jwk(key["jwk"]).hex(),
        "message": cose.to_be_signed().hex(),
        "signature": cose.signature.hex(),
    }
    return texts, buffer.getvalue(), vector


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> Any:
    stream = log.open("wb")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=stream, stderr=subprocess.STDOUT
    )
    stream.close()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                # The port opens before the workers finish importing; give them time.
                time.sleep(3)
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command[:4]} did not open port {port}")


def stop(process: Any) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="scan.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# The asyncio client.


def request_bytes(target: Target) -> list[bytes]:
    requests = []
    for body in target.bodies:
        head = (
            f"POST {target.path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{target.port}\r\n"
            f"Content-Type: {target.content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def connect(
    target: Target,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", target.port)


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request on a keep-alive connection; return the response status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)content-length: *(\d+)", head)
    if match is None:
        raise RuntimeError("the response has no Content-Length header")
    await reader.readexactly(int(match.group(1)))
    return status


@dataclass
class Result:
    target: str
    mode: str
    tool: str
    seconds: float
    requests: int
    errors: int
    throughput: float
    p50_ms: float
    p99_ms: float

    def row(self) -> str:
        return (
            f"{self.target:24} {self.mode:10} {self.tool:7} {self.throughput:9.1f}/s"
            f" {self.p50_ms:8.2f} ms {self.p99_ms:8.2f} ms  {self.requests:7d}"
            f"  errors {self.errors}"
        )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def closed_loop(target: Target, connections: int, duration: float) -> Result:
    requests = request_bytes(target)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await connect(target)
        try:
            while time.perf_counter() < deadline:
                request = requests[len(latencies) % len(requests)]
                sent = time.perf_counter()
                status = await exchange(reader, writer, request)
                latencies.append(time.perf_counter() - sent)
                errors += status != 200
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return _result(target.name, "saturated", "asyncio", elapsed, latencies, errors)


async def open_loop(target: Target, rate: float, duration: float) -> Result:
    """Send `rate` requests a second on schedule; latency counts from the schedule."""
    requests = request_bytes(target)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors = 0
    in_flight = 0

    async def one(scheduled: float, request: bytes) -> None:
        nonlocal errors, in_flight
        in_flight += 1
        try:
            reader, writer = idle.pop() if idle else await connect(target)
            try:
                status = await exchange(reader, writer, request)
            except (asyncio.IncompleteReadError, ConnectionError):
                # uvicorn closes connections idle for 5 s; open a fresh one.
                writer.close()
                reader, writer = await connect(target)
                status = await exchange(reader, writer, request)
            latencies.append(time.perf_counter() - scheduled)
            errors += status != 200
            idle.append((reader, writer))
        finally:
            in_flight -= 1

    count = int(rate * duration)
    started = time.perf_counter()
    tasks = []
    for number in range(count):
        scheduled = started + number / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= MAX_IN_FLIGHT:
            errors += 1
            continue
        request = requests[number % len(requests)]
        tasks.append(asyncio.create_task(one(scheduled, request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for _, writer in idle:
        writer.close()
    return _result(target.name, "half load", "asyncio", elapsed, latencies, errors)


def _result(
    name: str, mode: str, tool: str, seconds: float, latencies: list[float], errors: int
) -> Result:
    return Result(
        target=name,
        mode=mode,
        tool=tool,
        seconds=round(seconds, 2),
        requests=len(latencies),
        errors=errors,
        throughput=len(latencies) / seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


# wrk.


def wrk_saturation(
    target: Target, connections: int, duration: float, scratch: Path
) -> Result:
    stem = target.name.replace(" ", "-")
    body_paths = []
    for number, body in enumerate(target.bodies):
        path = scratch / f"{stem}-{number}.body"
        path.write_bytes(body)
        body_paths.append(f'"{path}"')
    script = scratch / f"{stem}.lua"
    script.write_text(
        "local bodies = {}\n"
        f"for _, path in ipairs({{{', '.join(body_paths)}}}) do\n"
        '  local file = io.open(path, "rb")\n'
        '  bodies[#bodies + 1] = file:read("*all")\n'
        "  file:close()\n"
        "end\n"
        "local turn = 0\n"
        "request = function()\n"
        "  turn = turn % #bodies + 1\n"
        '  return wrk.format("POST", nil,'
        f' {{["Content-Type"] = "{target.content_type}"}}, bodies[turn])\n'
        "end\n"
    )
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{target.port}{target.path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        print(f"  wrk socket errors on {target.name}: {socket_errors.group(1)}")
    return Result(
        target=target.name,
        mode="saturated",
        tool="wrk",
        seconds=duration,
        requests=total,
        errors=int(errors.group(1)) if errors else 0,
        throughput=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_wrk_latency(output, "50"),
        p99_ms=_wrk_latency(output, "99"),
    )


def _wrk_latency(output: str, share: str) -> float:
    match = re.search(rf"^\s+{share}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


# The run.


def measure(
    target: Target, connections: int, duration: float, rounds: int, scratch: Path
) -> list[Result]:
    """Saturate `target` in `rounds` rounds, then load it at half the median rate.

    uvicorn's workers share one listening socket, and whichever worker accepts
    first takes a burst of new connections, so one round can leave a worker idle.
    Each round opens new connections; the round with the median throughput is
    the one reported.
    """
    warm = asyncio.run(closed_loop(target, min(connections, 8), 2.0))
    if warm.errors:
        raise RuntimeError(
            f"{target.name} returned {warm.errors} error responses while warming up"
        )
    results = []
    for _ in range(rounds):
        if shutil.which("wrk"):
            results.append(wrk_saturation(target, connections, duration, scratch))
        else:
            results.append(asyncio.run(closed_loop(target, connections, duration)))
    results.sort(key=lambda result: result.throughput)
    rates = ", ".join(f"{result.throughput:.0f}/s" for result in results)
    print(f"  saturated rounds of {target.name}: {rates}", flush=True)
    saturated = results[len(results) // 2]
    half = asyncio.run(open_loop(target, saturated.throughput / 2, duration))
    return [saturated, half]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per measurement"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="connections when saturating"
    )
    parser.add_argument(
        "--scan-connections",
        type=int,
        default=4,
        help="connections when saturating with scan uploads",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="saturation rounds per target; the median round is reported",
    )
    parser.add_argument(
        "--documents",
        type=int,
        default=100,
        help="distinct documents whose QR texts are sent in turn",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wathiq-bench-") as scratch_name:
        scratch = Path(scratch_name)
        home = scratch / "home"
        texts, scan, vector = prepare_home(home, args.documents)
        wathiq_port, bare_port = free_port(), free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("WATHIQ_")
        }
        env.update(
            WATHIQ_HOME=str(home),
            WATHIQ_KEY_PASSPHRASE=PASSPHRASE,
            WATHIQ_ENVIRONMENT="development",
            WATHIQ_VERIFY_RATE_PER_MINUTE="100000000",
            WATHIQ_VERIFY_BURST="100000000",
            WATHIQ_LOG_LEVEL="INFO",
        )
        servers = []
        try:
            servers.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "verify.cli",
                        "serve",
                        "--workers",
                        "2",
                        "--port",
                        str(wathiq_port),
                    ],
                    env,
                    scratch / "wathiq.log",
                    wathiq_port,
                )
            )
            bare_env = {**env, VECTOR_VARIABLE: json.dumps(vector)}
            servers.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "api_load:create_bare_app",
                        "--factory",
                        "--app-dir",
                        str(BENCH_DIR),
                        "--workers",
                        "2",
                        "--port",
                        str(bare_port),
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    bare_env,
                    scratch / "bare.log",
                    bare_port,
                )
            )
            text_bodies = [json.dumps({"qr_text": text}).encode() for text in texts]
            scan_body, scan_type = multipart(scan)
            targets = [
                Target(
                    "bare ed25519",
                    bare_port,
                    "/verify",
                    text_bodies,
                    "application/json",
                ),
                Target(
                    "wathiq qr text",
                    wathiq_port,
                    "/api/v1/verifications",
                    text_bodies,
                    "application/json",
                ),
                Target(
                    "wathiq 300 dpi scan",
                    wathiq_port,
                    "/api/v1/verifications",
                    [scan_body],
                    scan_type,
                ),
            ]
            results: list[Result] = []
            for target in targets:
                connections = (
                    args.scan_connections if "scan" in target.name else args.connections
                )
                print(f"measuring {target.name} ...", flush=True)
                results += measure(
                    target, connections, args.duration, args.rounds, scratch
                )
        finally:
            for process in servers:
                stop(process)

    report(results, args, len(scan), (load_before, os.getloadavg()[0]))
    if args.json:
        Path(args.json).write_text(
            json.dumps([asdict(result) for result in results], indent=2)
        )
    return 0


def _server_stack() -> str:
    """Name what uvicorn's "auto" settings pick: httptools and uvloop if installed."""
    import importlib.util

    import uvicorn

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{uvicorn.__version__} with {http} and {loop}"


def report(
    results: list[Result],
    args: argparse.Namespace,
    scan_bytes: int,
    load: tuple[float, float],
) -> None:
    print()
    print(
        f"machine: {os.cpu_count()} cores; servers: 2 uvicorn workers each;"
        f" {args.duration:g} s per measurement; {args.documents} QR texts in turn;"
        f" scan upload {scan_bytes:,} bytes"
    )
    # Other processes on the machine skew every figure; the load average shows it.
    print(f"1-minute load average: {load[0]:.2f} before, {load[1]:.2f} after")
    print(f"uvicorn {_server_stack()}")
    print(
        f"{'target':24} {'mode':10} {'client':7} {'throughput':>11}"
        f" {'p50':>11} {'p99':>11}  requests"
    )
    for result in results:
        print(result.row())
    by_key = {(r.target, r.mode): r for r in results}
    bare = by_key[("bare ed25519", "saturated")]
    text = by_key[("wathiq qr text", "saturated")]
    half = by_key[("wathiq qr text", "half load")]
    ratio = text.throughput / bare.throughput
    print()
    print(
        f"qr text / bare throughput: {ratio:.2f} (goal >= {GOAL_RATIO});"
        f" {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    print(
        f"qr text p99 at half load: {half.p99_ms:.2f} ms (goal < {GOAL_P99_MS:g} ms);"
        f" {'met' if half.p99_ms < GOAL_P99_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    sys.exit(main())
