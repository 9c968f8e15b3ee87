"""The availability report as PDF (reports/pdf.py), read back with poppler: its text (pdftotext) shows
the very strings reports/formatting.py writes for the same report, its fonts (pdffonts) are the
embedded IPA font only, its first page (pdftoppm) is a picture with the charts' colours in it.

The report: 2026-Q4 of two systems from a real HistoryDB (SQLite in tmp_path), watched throughout.
記録管理システム (target 99.9 %): down 31 Oct 23:00 to 1 Nov 01:00 (an hour in each month), down
10 Nov 02:00-04:00 with a maintenance window over 01:00-03:00 (an hour counted), and down
5 Dec 10:00-13:00, reclassified as an external cause (none counted): 3 h down in 92 days,
1 - 10800 / 7948800 = 99.864 %. 基礎年金番号管理システム (target 99.5 %): down 20 Dec 09:00-09:45,
1 - 2700 / 7948800 = 99.966 %.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.maintenance import MaintenanceWindow
from model import Device, Inventory, Labels, Site, System
from reports.calendars import Language
from reports.config import AvailabilityConfig
from reports.formatting import category_text, duration, local_time, met_text, month_text, number, percent, text
from reports.history import AlertSpan, HistoryDB, LeafSpan, Reclassification
from reports.pdf import FONT_PACKAGE, FontNotFoundError, find_font, render_pdf
from reports.periods import parse_period
from reports.report import AvailabilityReport, build_report
from tests.helpers import require

TZ = "Asia/Tokyo"
JST = ZoneInfo(TZ)
POPPLER = "apt-get install -y poppler-utils (or scripts/setup.sh --test)"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "availability-report.ja.png"


def jst(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> float:
    return datetime(y, m, d, h, mi, tzinfo=JST).timestamp()


def estate() -> Inventory:
    return Inventory(
        sites=(Site("dc-east", "東日本センター"), Site("dc-west", "西日本センター")),
        systems=(System("records", "記録管理システム"), System("number", "基礎年金番号管理システム")),
        devices=(
            Device("srv-records-01", "dc-east", "records", "server", "127.0.0.1"),
            Device("srv-number-01", "dc-west", "number", "server", "127.0.0.1"),
        ),
    )


def config() -> AvailabilityConfig:
    return AvailabilityConfig.model_validate(
        {
            "systems": [
                {"system": "records", "target": 99.9, "tree": {"device": "srv-records-01"}},
                {"system": "number", "target": 99.5, "tree": {"device": "srv-number-01"}},
            ]
        }
    )


def alert(start: float, end: float, target: str, summary: str, summary_ja: str) -> AlertSpan:
    return AlertSpan(
        f"fp-{target}-{start}",
        Labels(alertname="DeviceDown", target=target, severity="critical"),
        Labels(summary=summary, summary_ja=summary_ja),
        start,
        end,
    )


DISK_SWAP = MaintenanceWindow.model_validate(
    {
        "name": "disk-swap",
        "matchers": ['target="srv-records-01"'],
        "owner": "ops-east",
        "reason": "ディスク交換",
        "location": TZ,
        "schedule": {"once": {"start": "2026-11-10T01:00:00", "end": "2026-11-10T03:00:00"}},
    }
)
NOW = jst(2027, 1, 10, 9)


def build(path: Path) -> AvailabilityReport:
    db = HistoryDB.open(path)
    try:
        db.insert(
            [
                LeafSpan("device:srv-records-01", "down", jst(2026, 10, 31, 23), jst(2026, 11, 1, 1)),
                LeafSpan("device:srv-records-01", "down", jst(2026, 11, 10, 2), jst(2026, 11, 10, 4)),
                LeafSpan("device:srv-records-01", "down", jst(2026, 12, 5, 10), jst(2026, 12, 5, 13)),
                LeafSpan("device:srv-number-01", "down", jst(2026, 12, 20, 9), jst(2026, 12, 20, 9, 45)),
            ],
            [
                alert(
                    jst(2026, 10, 31, 23),
                    jst(2026, 11, 1, 1),
                    "srv-records-01",
                    "Records server down",
                    "記録サーバー停止",
                ),
                alert(jst(2026, 12, 5, 10), jst(2026, 12, 5, 13), "srv-records-01", "Line to records cut", "回線断"),
                alert(
                    jst(2026, 12, 20, 9), jst(2026, 12, 20, 9, 45), "srv-number-01", "DB not answering", "DB応答なし"
                ),
            ],
            [(jst(2026, 1, 1), jst(2028, 1, 1))],
        )
        db.reclassify(Reclassification("records", jst(2026, 12, 5, 10, 30), "external", "NTT回線工事", "suzuki", NOW))
        return build_report(config(), estate(), db, [DISK_SWAP], parse_period("2026-Q4", TZ), NOW)
    finally:
        db.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AvailabilityReport:
    return build(tmp_path_factory.mktemp("history") / "history.sqlite3")


@pytest.fixture(scope="module")
def font() -> Iterator[None]:
    try:
        find_font()
    except FontNotFoundError:
        require("ipag.ttf", install=f"apt-get install -y {FONT_PACKAGE} (or scripts/setup.sh)")
        raise
    yield


@pytest.fixture(scope="module")
def pdfs(report: AvailabilityReport, font: None, tmp_path_factory: pytest.TempPathFactory) -> dict[Language, Path]:
    folder = tmp_path_factory.mktemp("pdf")
    out: dict[Language, Path] = {}
    for lang in ("ja", "en"):
        out[lang] = folder / f"report.{lang}.pdf"
        out[lang].write_bytes(render_pdf(report, lang, TZ))
    return out


def run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout


def words(text_: str) -> str:
    """Whitespace runs as one space: table cells and layout spacing do not matter."""
    return " ".join(text_.split())


def expected_strings(report: AvailabilityReport, lang: Language) -> list[str]:
    """What the PDF must show, written by reports/formatting.py from the report itself."""
    out = [text("title", lang, period=report.period.label(lang)), text("generated_at", lang, time="2027-01-10 09:00")]
    for s in report.systems:
        f = s.total
        out += [s.name, percent(f.availability, lang), percent(f.target, lang), met_text(f.met, lang)]
        out += [duration(x, lang) for x in (f.service, f.downtime, f.excluded, f.mttr, f.mtbf, f.budget, f.budget_left)]
        out.append(number(f.burn_rate, lang))
        out += [f"{month_text(m.first_month, lang)} {percent(mf.availability, lang)}" for m, mf in s.months]
        for o in s.report.outages:
            out += [local_time(o.start, TZ, lang), local_time(o.end, TZ, lang), o.cause_ja if lang == "ja" else o.cause]
            out += [duration(o.duration, lang), *o.maintenance]
            if o.reclassified is not None:
                out += [category_text(o.reclassified.category, lang), o.reclassified.reason, o.reclassified.by]
    for name, reason, start, end in report.maintenance:
        out += [name, reason, local_time(start, TZ, lang), local_time(end, TZ, lang)]
    out += [f"{day.isoformat()}" for day, _ in report.holidays] + [name for _, name in report.holidays]
    return out


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_pdf_text_shows_the_figures_the_formatting_writes_for_the_same_report(
    report: AvailabilityReport, pdfs: dict[Language, Path], lang: Language
) -> None:
    shown = words(run(require("pdftotext", install=POPPLER), "-layout", str(pdfs[lang]), "-"))
    missing = [s for s in expected_strings(report, lang) if words(s) not in shown]
    assert missing == []


def test_the_figures_are_the_hand_computed_ones(report: AvailabilityReport, pdfs: dict[Language, Path]) -> None:
    shown = words(run(require("pdftotext", install=POPPLER), "-layout", str(pdfs["ja"]), "-"))
    assert "記録管理システム 99.864% 99.900% 未達 3時間00分 2" in shown  # the summary row, 3 h in 92 days
    assert "基礎年金番号管理システム 99.966% 99.500% 達成 45分 1" in shown
    assert "2026年10月 99.866% 未達 1時間00分 1" in shown  # the monthly table: 1 h of 31 days
    assert "2026年11月 99.722% 未達 2時間00分 2" in shown  # 1 h carried over + 1 h outside the maintenance
    assert "2026年12月 100.000% 達成 0 0" in shown  # the reclassified outage counts nothing


def test_the_japanese_pdf_names_the_period_the_systems_and_the_glossary_words(pdfs: dict[Language, Path]) -> None:
    shown = words(run(require("pdftotext", install=POPPLER), "-layout", str(pdfs["ja"]), "-"))
    for phrase in (
        "2026年 第4四半期（10月〜12月） 稼働率報告",
        "記録管理システム",
        "稼働率",
        "停止時間",
        "縮退時間",
        "障害件数",
        "平均復旧時間（MTTR）",
        "平均故障間隔（MTBF）",
        "エラーバジェット",
        "SLA目標値",
        "停止時間を除外した保守",
        "再分類された停止",
        "期間中の祝日",
        "文化の日",
        "勤労感謝の日",
    ):
        assert phrase in shown, phrase


def test_the_reclassified_outage_keeps_its_original_cause(report: AvailabilityReport) -> None:
    (changed,) = [o for s in report.systems for o in s.report.outages if o.reclassified is not None]
    assert (changed.cause, changed.cause_ja, changed.counted) == ("Line to records cut", "回線断", 0.0)


def test_the_pdf_embeds_the_ipa_font_and_no_other(pdfs: dict[Language, Path]) -> None:
    for lang, path in pdfs.items():
        rows = run(require("pdffonts", install=POPPLER), str(path)).splitlines()[2:]
        fonts = {(row.split()[0].partition("+")[2], row.split()[-5]) for row in rows}
        assert fonts in ({("IPAGothic", "yes")}, {("IPAexGothic", "yes")}), (lang, rows)


def test_rendering_is_repeatable_and_dated_by_the_report_not_the_clock(
    report: AvailabilityReport, pdfs: dict[Language, Path]
) -> None:
    again = render_pdf(report, "ja", TZ)
    assert again == pdfs["ja"].read_bytes()
    assert b"/CreationDate (D:20270110090000+09'00')" in again


def test_the_first_page_as_a_picture_shows_the_charts(pdfs: dict[Language, Path], tmp_path: Path) -> None:
    pdftoppm = require("pdftoppm", install=POPPLER)
    run(pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", str(pdfs["ja"]), str(tmp_path / "page"))
    (page,) = tmp_path.glob("page*.png")
    width, height, pixels = read_png(page.read_bytes())
    assert (width, height) == (414, 585)  # A4 (595 x 842 points) at 50 dpi, rounded up
    assert len(pixels) > 20  # text, grid, bars: not a blank page
    assert has_colour(pixels, (0x2E, 0x7D, 0x32)) and has_colour(pixels, (0xC6, 0x28, 0x28))  # met and missed bars
    assert has_colour(pixels, (0x90, 0xA4, 0xAE))  # the reclassified outage on the timeline


def test_the_docs_screenshot_is_the_japanese_first_page(pdfs: dict[Language, Path], tmp_path: Path) -> None:
    pdftoppm = require("pdftoppm", install=POPPLER)
    run(pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdfs["ja"]), str(tmp_path / "page"))
    data = (tmp_path / "page.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (662, 936)  # A4 at 80 dpi
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(data)


def test_without_the_font_rendering_fails_naming_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError) as error:
        find_font(tmp_path)
    assert str(error.value) == (
        "no Japanese TrueType font for the PDF report: neither IPAGothic (ipag.ttf) nor IPAexGothic (ipaexg.ttf)"
        f" is under {tmp_path}; install Debian's fonts-ipafont-gothic (apt-get install -y fonts-ipafont-gothic,"
        " as scripts/setup.sh does)"
    )


def test_an_ipaex_font_is_taken_when_ipagothic_is_not_there(tmp_path: Path) -> None:
    ipaex = tmp_path / "opentype" / "ipaexfont-gothic" / "ipaexg.ttf"
    ipaex.parent.mkdir(parents=True)
    ipaex.write_bytes(b"")
    assert find_font(tmp_path) == ("IPAexGothic", ipaex)


# -- PNG reading (no imaging library): 8-bit RGB or RGBA, not interlaced, as pdftoppm writes ----------


def read_png(data: bytes) -> tuple[int, int, set[tuple[int, ...]]]:
    """(width, height, the set of distinct pixel colours) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8 : at + 8 + size]
        at += 12 + size
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) in {(8, 2, 0), (8, 6, 0)}
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(chunks[b"IDAT"]), width * step
    previous, pixels = bytearray(stride), set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            line[i] = (line[i] + unfilter(kind, left, up, corner)) & 0xFF
        pixels.update(tuple(line[i : i + 3]) for i in range(0, stride, step))
        previous = line
    return width, height, pixels


def unfilter(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    guess = left + up - corner  # Paeth
    near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))
    return near[2]


def has_colour(pixels: set[tuple[int, ...]], rgb: tuple[int, int, int]) -> bool:
    return any(all(abs(a - b) <= 2 for a, b in zip(p, rgb, strict=True)) for p in pixels)
