"""Integrity of the model bundle: a SHA-256 manifest of every file in ``model/``.

The manifest (``manifest.sha256``) is in ``sha256sum`` format, one line per file,
``<64 hex digits>  <path relative to the bundle>``, sorted by path. It covers every file of the
bundle except itself. A bundle is only deserialized after its manifest verified.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

MANIFEST_NAME = "manifest.sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")


class BundleError(RuntimeError):
    """The model bundle is missing, incomplete, altered or unreadable."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_files(model_dir: Path) -> list[str]:
    """Relative POSIX paths of all files in the bundle except the manifest, sorted."""
    return sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and p.relative_to(model_dir).as_posix() != MANIFEST_NAME
    )


def write_manifest(model_dir: str | Path) -> Path:
    """Write ``manifest.sha256`` covering every file in ``model_dir``; return its path."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise BundleError(f"model bundle folder {model_dir} does not exist")
    lines = [f"{file_sha256(model_dir / rel)}  {rel}\n" for rel in _bundle_files(model_dir)]
    manifest = model_dir / MANIFEST_NAME
    manifest.write_text("".join(lines), encoding="utf-8")
    return manifest


def read_manifest(model_dir: str | Path) -> dict[str, str]:
    """Parse the manifest of ``model_dir`` into ``{relative path: sha256 hex}``."""
    model_dir = Path(model_dir)
    manifest = model_dir / MANIFEST_NAME
    if not model_dir.is_dir():
        raise BundleError(
            f"model bundle folder {model_dir} does not exist; put the trained bundle there"
        )
    if not manifest.is_file():
        raise BundleError(
            f"{MANIFEST_NAME} is missing from {model_dir}; the bundle cannot be verified. "
            "Restore the bundle as trained, or re-create the manifest with write_manifest"
        )
    entries: dict[str, str] = {}
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{MANIFEST_NAME} in {model_dir} cannot be read ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        rel = match.group(2) if match else ""
        parts = PurePosixPath(rel).parts
        if (
            not match
            or PurePosixPath(rel).is_absolute()
            or ".." in parts
            or rel == MANIFEST_NAME
            or rel in entries
        ):
            raise BundleError(f"{MANIFEST_NAME} line {number} is malformed")
        entries[rel] = match.group(1)
    if not entries:
        raise BundleError(f"{MANIFEST_NAME} in {model_dir} lists no files")
    return entries


def verify_manifest(model_dir: str | Path) -> dict[str, str]:
    """Check every file of ``model_dir`` against its manifest; return the manifest entries.

    Raises :class:`BundleError` naming the first file that is missing, altered, or not listed.
    """
    model_dir = Path(model_dir)
    entries = read_manifest(model_dir)
    for rel, expected in entries.items():
        path = model_dir / rel
        if not path.is_file():
            raise BundleError(
                f"model bundle file {rel} is missing from {model_dir}; restore the bundle as trained"
            )
        if file_sha256(path) != expected:
            raise BundleError(
                f"model bundle file {rel} was altered or is corrupt (its SHA-256 does not match "
                f"{MANIFEST_NAME}); restore the bundle as trained"
            )
    extra = [rel for rel in _bundle_files(model_dir) if rel not in entries]
    if extra:
        raise BundleError(
            f"model bundle file {extra[0]} is not listed in {MANIFEST_NAME}; remove it, "
            "or re-create the manifest if it belongs to the bundle"
        )
    return entries
