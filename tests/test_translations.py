"""The German catalog is complete, compiled and in step with the code: every message
the visitor site and guest emails mark has a German text (none fuzzy), the committed
.mo is the .po compiled, and makemessages would not add or drop a message."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
LOCALES = [code for code, _name in settings.LANGUAGES if code != "en"]
# What makemessages reads (docs/languages.md): the apps, config and the templates.
SOURCES = ("bookings", "config", "integrations", "messaging", "properties", "templates")
MAKEMESSAGES = [
    "makemessages",
    "--no-location",
    "--no-obsolete",
    *(f"--ignore={name}" for name in ("tests", "docs", "static", "terraform", "docker")),
    "--ignore=scripts",
    "--ignore=.venv",
]


@dataclass
class Entry:
    context: str | None
    msgid: str
    plural: str | None = None
    strings: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)


def _unquote(parts: list[str]) -> str:
    return "".join(ast.literal_eval(p) for p in parts)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header excluded)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        flags: set[str] = set()
        current = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif m := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (\".*\")$", line):
                current = m.group(1)
                fields[current] = [m.group(2)]
            elif line.startswith('"'):
                fields[current].append(line)
        if "msgid" not in fields or _unquote(fields["msgid"]) == "":
            continue
        entry = Entry(
            context=_unquote(fields["msgctxt"]) if "msgctxt" in fields else None,
            msgid=_unquote(fields["msgid"]),
            plural=_unquote(fields["msgid_plural"]) if "msgid_plural" in fields else None,
            flags=flags,
        )
        names = sorted(k for k in fields if k.startswith("msgstr"))
        entry.strings = [_unquote(fields[k]) for k in names]
        entries.append(entry)
    return entries


def _po(code: str) -> Path:
    return ROOT / "locale" / code / "LC_MESSAGES" / "django.po"


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\{\s*\w+\s*\}\}|<[^>]+>")


@pytest.mark.parametrize("code", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(code: str) -> None:
    entries = parse_po(_po(code))
    assert entries
    untranslated = [e.msgid for e in entries if not all(e.strings)]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    for entry in entries:
        # The same placeholders, tags and template variables as the English.
        english = sorted(PLACEHOLDER.findall(entry.msgid))
        if entry.plural is None:
            assert sorted(PLACEHOLDER.findall(entry.strings[0])) == english, entry.msgid
        else:
            allowed = set(english) | set(PLACEHOLDER.findall(entry.plural))
            for text in entry.strings:
                assert set(PLACEHOLDER.findall(text)) <= allowed, entry.msgid


@pytest.mark.parametrize("code", LOCALES)
def test_the_committed_mo_is_the_po_compiled(code: str) -> None:
    """The .mo is committed (so a fresh clone and the Docker image need no gettext to
    run): it must say exactly what the .po says."""
    with (_po(code).with_suffix(".mo")).open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    for entry in parse_po(_po(code)):
        if entry.plural is None:
            found = (
                catalog.pgettext(entry.context, entry.msgid)
                if entry.context
                else catalog.gettext(entry.msgid)
            )
            assert found == entry.strings[0], entry.msgid
        else:
            for n, expected in ((1, entry.strings[0]), (2, entry.strings[1])):
                found = (
                    catalog.npgettext(entry.context, entry.msgid, entry.plural, n)
                    if entry.context
                    else catalog.ngettext(entry.msgid, entry.plural, n)
                )
                assert found == expected, entry.msgid
    stale = {
        key
        for key in catalog._catalog  # type: ignore[attr-defined]
        if key and not isinstance(key, tuple)
    } - {(f"{e.context}\x04{e.msgid}" if e.context else e.msgid) for e in parse_po(_po(code))}
    assert stale == set(), "the .mo has messages the .po no longer has: compile it again"


@pytest.mark.parametrize("code", LOCALES)
def test_the_catalog_matches_the_messages_the_code_marks(code: str, tmp_path: Path) -> None:
    """makemessages over a copy of the sources, compared with the committed catalog: a
    marked string without a translation, or a translation of a string no longer marked,
    fails here (run the commands in docs/languages.md)."""
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is not installed (apt-get install gettext; .ci/run does it)")
    for name in SOURCES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("locale"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES, "-l", code],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    fresh = {e.key for e in parse_po(tmp_path / "locale" / code / "LC_MESSAGES" / "django.po")}
    committed = {e.key for e in parse_po(_po(code))}
    assert sorted(fresh - committed, key=str) == [], "marked in the code, missing in the .po"
    assert sorted(committed - fresh, key=str) == [], "in the .po, no longer in the code"
