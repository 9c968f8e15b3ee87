"""Every visible string of the web console comes from a catalog: `dashboards/locales/<lang>.json`
files hold the keys of every page (each page's keys prefixed by its name: `wall.title`), loaded
once per process on first use and merged. `t(key, lang, **values)` formats a string with
`str.format` fields; a key missing from a catalog is shown as `⟦key⟧` (the browser tests scan pages
for that mark, so an untranslated string fails a test instead of passing unseen).

Dates and numbers follow the language: `format_time` writes `2026年11月27日 18:30` in Japanese and
`27 Nov 2026 18:30` in English, in the console's time zone (JST by default); `format_number`
groups thousands.
"""

from __future__ import annotations

import datetime
import functools
import json
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "MISSING", "catalog", "format_number", "format_time", "language", "t"]

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
MISSING = "⟦{}⟧"
"""How a key missing from a catalog is shown."""

_LOCALES = Path(__file__).resolve().parent / "locales"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The merged catalog of `lang`: every `locales/*.<lang>.json` and `locales/<lang>.json`."""
    merged: dict[str, str] = {}
    for path in sorted(_LOCALES.glob(f"*{lang}.json")):
        if path.name == f"{lang}.json" or path.name.endswith(f".{lang}.json"):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def language(choice: object, default: str = DEFAULT_LANGUAGE) -> str:
    """The language to show: the user's `choice` when it is one we have, else `default`."""
    return choice if isinstance(choice, str) and choice in LANGUAGES else default


def t(key: str, lang: str, **values: object) -> str:
    """The text of `key` in `lang`, with `values` filled in (`{count}`)."""
    text = catalog(lang).get(key)
    if text is None:
        return MISSING.format(key)
    return text.format(**values) if values else text


def format_time(ts: float, lang: str, tz: str = "Asia/Tokyo", *, seconds: bool = False) -> str:
    """A Unix time as people of `lang` write it, in time zone `tz`."""
    local = datetime.datetime.fromtimestamp(ts, tz=ZoneInfo(tz))
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    if lang == "ja":
        return f"{local.year}年{local.month}月{local.day}日 {clock}"
    return f"{local.day} {local.strftime('%b')} {local.year} {clock}"


def format_number(value: float, lang: str, digits: int = 0) -> str:
    """`value` with thousands grouped and `digits` decimals (the same separators in ja and en)."""
    del lang  # ja and en both write 12,345.6
    return f"{value:,.{digits}f}"
