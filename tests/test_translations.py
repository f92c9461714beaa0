"""Italian is the language of every page and reply: the catalogue holds every string of the
sources, none left in English, no guess left fuzzy, and the compiled catalogue Django reads
is the one reviewed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "banditore" / "locale"


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def test_every_string_has_its_italian():
    po = catalogue("it")
    missing = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert missing == [], f"{len(missing)} without Italian, e.g. {missing[:5]}"


def test_no_fuzzy_guess_is_left():
    fuzzy = [e.msgid for e in catalogue("it") if "fuzzy" in e.flags and not e.obsolete]
    assert fuzzy == []


def test_the_compiled_catalogue_is_the_reviewed_one():
    po = catalogue("it")
    mo = polib.mofile(str(LOCALE / "it" / "LC_MESSAGES" / "django.mo"))

    def pairs(entries):
        out = {}
        for e in entries:
            if e.obsolete or "fuzzy" in e.flags:
                continue
            if not (e.msgstr or any(e.msgstr_plural.values())):
                continue
            key = (e.msgctxt or "", e.msgid)
            out[key] = dict(e.msgstr_plural) if e.msgid_plural else e.msgstr
        return out

    reviewed, compiled = pairs(po), pairs(mo)
    stale = sorted(k[1] for k in reviewed if compiled.get(k) != reviewed[k])
    assert stale == [], f"run compilemessages: {len(stale)} differ, e.g. {stale[:3]}"


def test_the_catalogue_holds_every_string_of_the_sources(tmp_path):
    # makemessages on a copy, so the real catalogue is compared, not rewritten.
    copy = tmp_path / "banditore"
    shutil.copytree(LOCALE.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "banditore.settings"}
    done = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "it", "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr

    def keys(po):
        return {(e.msgctxt or "", e.msgid) for e in po if not e.obsolete}

    extracted = polib.pofile(str(copy / "locale" / "it" / "LC_MESSAGES" / "django.po"))
    missing = sorted(m for _, m in keys(extracted) - keys(catalogue("it")))
    assert missing == [], f"run makemessages: {len(missing)} new, e.g. {missing[:3]}"
