"""Compare pyzbar, zxing-cpp and `verify.scanning.scan` on public QR test images.

Usage: python bench/decoders.py [--corpora DIR]

DIR defaults to ../shared/corpora beside the repository. The script reads:

- qr-blackbox/qrcode-1…4 and zxing-cpp-qrcode-1…4: images with the exact expected
  text in <stem>.txt (UTF-8, not stripped). A read is correct when the expected
  text is among the texts returned, and wrong when texts came back without it.
- qr-blackbox/*-falsepositives-*: images with no barcode, where any text is a
  false positive.
- qr-blackbox/multi-qrcode-1: one image with the four texts of 1.expected.json.
- dgc/: EU Digital COVID Certificate QR codes, with the expected "HC1:" text in
  the PREFIX field of the JSON file beside each PNG.

Every time is measured from the file's bytes to the returned texts, in one thread,
so it includes decoding the image file. The single decoders get the image as
Pillow converts it to 8-bit grayscale, after the EXIF orientation.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont, ImageOps
from pyzbar import pyzbar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from verify.errors import InputError  # noqa: E402
from verify.scanning import scan  # noqa: E402

GOAL_SETS = [f"qrcode-{n}" for n in range(1, 5)] + [
    f"zxing-cpp-qrcode-{n}" for n in range(1, 5)
]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)
PAGE_RUNS = 20

Reader = Callable[[bytes], list[str]]


@dataclass
class Tally:
    """Results of one reader over one group of images."""

    correct: int = 0
    total: int = 0
    wrong: list[str] = field(default_factory=list)
    """Images where texts came back but not the expected one."""
    extra: list[str] = field(default_factory=list)
    """Images where the expected text came back with other codes beside it."""
    false_positives: list[str] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        type=Path,
        default=REPO.parent / "shared" / "corpora",
        help="folder that contains qr-blackbox/ and dgc/ (default: %(default)s)",
    )
    corpora = parser.parse_args().corpora
    blackbox = corpora / "qr-blackbox"
    if not blackbox.is_dir():
        parser.error(f"{blackbox} not found: pass --corpora DIR")

    readers: dict[str, Reader] = {
        "pyzbar": read_pyzbar,
        "zxing-cpp": read_zxing,
        "scan": read_scan,
    }
    results = {name: run_blackbox(blackbox, reader) for name, reader in readers.items()}
    print_blackbox(results)
    print_dgc(corpora / "dgc")
    print_page_timing()


def read_pyzbar(data: bytes) -> list[str]:
    """Decode with pyzbar's defaults, as a caller who uses pyzbar alone would."""
    found = pyzbar.decode(load_gray(data), symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [result.data.decode("utf-8", errors="replace") for result in found]


def read_zxing(data: bytes) -> list[str]:
    found = zxingcpp.read_barcodes(
        load_gray(data), formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain
    )
    return [result.text for result in found]


def read_scan(data: bytes) -> list[str]:
    try:
        return scan(data)
    except InputError:
        return []


def load_gray(data: bytes) -> np.ndarray:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if image.has_transparency_data:
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return np.asarray(image.convert("L"))


def timed(reader: Reader, data: bytes) -> tuple[list[str], float]:
    start = time.perf_counter()
    texts = reader(data)
    return texts, (time.perf_counter() - start) * 1000


def run_blackbox(blackbox: Path, reader: Reader) -> dict[str, Tally]:
    """Tally the zxing and zxing-cpp sets, the sets without codes and the multi set."""
    tallies = {key: Tally() for key in ("zxing", "zxing-cpp", "negatives", "multi")}
    for folder in GOAL_SETS:
        tally = tallies["zxing-cpp" if folder.startswith("zxing-cpp") else "zxing"]
        for image in images_in(blackbox / folder):
            expected = image.with_suffix(".txt").read_bytes().decode("utf-8")
            texts, ms = timed(reader, image.read_bytes())
            record(tally, f"{folder}/{image.name}", [expected], texts, ms)

    for folder in sorted(blackbox.glob("*-falsepositives-*")):
        for image in images_in(folder):
            texts, ms = timed(reader, image.read_bytes())
            record(tallies["negatives"], f"{folder.name}/{image.name}", [], texts, ms)

    multi_folder = blackbox / "multi-qrcode-1"
    expected_texts = json.loads((multi_folder / "1.expected.json").read_text("utf-8"))
    texts, ms = timed(reader, (multi_folder / "1.png").read_bytes())
    record(tallies["multi"], "multi-qrcode-1/1.png", expected_texts, texts, ms)
    return tallies


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def record(
    tally: Tally, name: str, expected: list[str], texts: list[str], ms: float
) -> None:
    tally.times_ms.append(ms)
    if not expected:
        tally.total += 1
        if texts:
            tally.false_positives.append(name)
        return
    tally.total += len(expected)
    found = sum(1 for text in expected if text in texts)
    tally.correct += found
    others = [text for text in texts if text not in expected]
    if others and found:
        tally.extra.append(name)
    elif others:
        tally.wrong.append(name)


def combined(tallies: dict[str, Tally]) -> Tally:
    """Merge the zxing and zxing-cpp tallies into the 251-image goal set."""
    total = Tally()
    for key in ("zxing", "zxing-cpp"):
        part = tallies[key]
        total.correct += part.correct
        total.total += part.total
        total.wrong += part.wrong
        total.extra += part.extra
        total.times_ms += part.times_ms
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_blackbox(results: dict[str, dict[str, Tally]]) -> None:
    print(f"qr-blackbox goal sets: {', '.join(GOAL_SETS)}")
    print(
        f"{'reader':<10} {'correct':>9} {'zxing':>8} {'zxing-cpp':>9} {'wrong':>6}"
        f" {'false pos.':>10} {'multi':>6} {'median ms':>10} {'p95 ms':>7}"
        f" {'no-code median ms':>18}"
    )
    for name, tallies in results.items():
        goal, negatives = combined(tallies), tallies["negatives"]
        zxing, cpp, multi = tallies["zxing"], tallies["zxing-cpp"], tallies["multi"]
        false_positives = len(negatives.false_positives)
        print(
            f"{name:<10} {goal.correct:>4}/{goal.total:<4}"
            f" {zxing.correct:>4}/{zxing.total:<3} {cpp.correct:>5}/{cpp.total:<3}"
            f" {len(goal.wrong):>6} {false_positives:>5}/{negatives.total:<4}"
            f" {multi.correct:>2}/{multi.total:<3}"
            f" {statistics.median(goal.times_ms):>10.2f}"
            f" {percentile(goal.times_ms, 0.95):>7.2f}"
            f" {statistics.median(negatives.times_ms):>18.2f}"
        )

    best_name = max(("pyzbar", "zxing-cpp"), key=lambda n: combined(results[n]).correct)
    best, ours = combined(results[best_name]), combined(results["scan"])
    print(
        f"scan / best single decoder ({best_name}): reads"
        f" {ours.correct / best.correct:.3f}, median time"
        f" {statistics.median(ours.times_ms) / statistics.median(best.times_ms):.2f}"
    )
    for name, tallies in results.items():
        goal = combined(tallies)
        for label, names in (
            ("wrong text", goal.wrong + tallies["multi"].wrong),
            ("other codes beside the expected one", goal.extra),
            ("false positive", tallies["negatives"].false_positives),
        ):
            if names:
                print(f"  {name}, {label}: {', '.join(names)}")
    print()


def print_dgc(folder: Path) -> None:
    """Print how `scan` reads the DGC images, which must come back as text."""
    if not folder.is_dir():
        print(f"dgc: {folder} not found, skipped\n")
        return
    read = wrong = missed = 0
    rejected: list[str] = []
    for image in sorted(folder.glob("*/*.png")):
        name = f"{image.parent.name}/{image.name}"
        expected = json.loads(image.with_suffix(".json").read_text("utf-8"))
        prefix = expected.get("PREFIX")
        try:
            texts = scan(image.read_bytes())
        except InputError as exc:
            rejected.append(f"{name} ({type(exc).__name__})")
            continue
        if prefix is None:
            missed += 1
        elif prefix in texts:
            read += 1
        else:
            wrong += 1
    total = read + wrong + missed + len(rejected)
    print(
        f"dgc: {read}/{total} read as the expected HC1: text, {wrong} wrong,"
        f" {missed} without an expected text, {len(rejected)} raised an input error"
    )
    if rejected:
        print(f"  raised: {', '.join(rejected)}")
    print()


def print_page_timing() -> None:
    """Time `scan` on generated A4 pages with one 40 mm QR code in a corner."""
    text = wathiq_like_text()
    cases = [
        (300, "blank", "PNG"),
        (300, "text", "PNG"),
        (300, "text", "JPEG"),
        (300, "text, no code", "JPEG"),
        (600, "text", "JPEG"),
        (600, "text, no code", "JPEG"),
    ]
    for dpi, content, fmt in cases:
        with_code = "no code" not in content
        page = a4_page(text, dpi, content != "blank", with_code)
        buffer = io.BytesIO()
        page.save(buffer, fmt, quality=85)
        data = buffer.getvalue()
        expected = [text] if with_code else []
        if read_scan(data) != expected:
            raise SystemExit(f"scan misread the generated {dpi} dpi {fmt} page")

        scan_ms, zxing_ms = time_page(data, np.asarray(page))
        print(
            f"A4 {dpi} dpi {fmt} ({content}, {page.width} × {page.height},"
            f" {len(data):,} bytes): scan {scan_ms:.1f} ms, zxing-cpp alone on the"
            f" decoded array {zxing_ms:.1f} ms (median of {PAGE_RUNS} runs)"
        )


def time_page(data: bytes, gray: np.ndarray) -> tuple[float, float]:
    """Return the median ms of `scan` on `data` and of zxing-cpp on `gray`."""
    scan_ms = median_ms(lambda: read_scan(data))
    zxing_ms = median_ms(
        lambda: zxingcpp.read_barcodes(
            gray, formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain
        )
    )
    return scan_ms, zxing_ms


def median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(PAGE_RUNS):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def wathiq_like_text() -> str:
    """Return 560 characters shaped like an issued QR text: a URL and base32."""
    prefix = "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1."
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    generator = np.random.default_rng(20240601)
    body = "".join(alphabet[i] for i in generator.integers(0, 32, 560 - len(prefix)))
    return prefix + body


def a4_page(text: str, dpi: int, busy: bool, with_code: bool = True) -> Image.Image:
    """Draw an A4 page with a 40 mm code 15 mm from the bottom-right corner."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    symbol = code.make_image().get_image().convert("L")
    side = round(40 / 25.4 * dpi)
    margin = round(15 / 25.4 * dpi)
    symbol = symbol.resize((side, side), Image.Resampling.NEAREST)

    page = Image.new("L", (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)), 255)
    if busy:
        draw_text_lines(page, dpi, bottom=page.height - side - 2 * margin)
    if with_code:
        page.paste(symbol, (page.width - side - margin, page.height - side - margin))
    return page


def draw_text_lines(page: Image.Image, dpi: int, bottom: int) -> None:
    """Fill the page above `bottom` with random 12 pt words, like printed text."""
    draw = ImageDraw.Draw(page)
    generator = np.random.default_rng(7)
    font = ImageFont.load_default(size=round(12 / 72 * dpi))
    line_height = round(16 / 72 * dpi)
    margin = round(25 / 25.4 * dpi)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for top in range(margin, bottom - line_height, line_height):
        words = [
            "".join(letters[i] for i in generator.integers(0, 26, length))
            for length in generator.integers(2, 10, 20)
        ]
        line = " ".join(words)
        while draw.textlength(line, font=font) > page.width - 2 * margin:
            line = line.rsplit(" ", 1)[0]
        draw.text((margin, top), line, fill=30, font=font)


if __name__ == "__main__":
    main()
