"""Local model files: parts found through installed distributions, assembled, verified, stamped, or refused.

The distributions are fake but real: a temporary site directory on sys.path with `.dist-info` folders, so
importlib.metadata finds them exactly as it finds pip-installed packages. The parts are a few bytes each.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from autodev.config import parse_config
from autodev.errors import LocalModelError
from autodev.local import files
from autodev.local.catalog import LocalModelSpec, ModelPart
from autodev.local.files import ensure_model_file, locate_part, missing_parts, models_dir, status
from autodev.local.serving import server_manager

pytestmark = pytest.mark.req("LOCAL-1")

PARTS = [b"GGUF-part-one|", b"second part, a little longer|", b"3rd"]


class FakeSite:
    """A site directory holding fake distributions, each with one data file, on sys.path for the test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"adtest-{uuid.uuid4().hex[:8]}"  # distinct names: no test sees another's packages

    def spec(self, parts: list[bytes], *, extra: str = "local") -> LocalModelSpec:
        whole = b"".join(parts)
        return LocalModelSpec(
            alias=f"local/{self.prefix}",
            title="fake model",
            parts=tuple(self.part(n) for n in range(1, len(parts) + 1)),
            size=len(whole),
            sha256=hashlib.sha256(whole).hexdigest(),
            extra=extra,
        )

    def part(self, n: int) -> ModelPart:
        package = f"{self.prefix}_part{n}".replace("-", "_")
        return ModelPart(distribution=f"{self.prefix}-part{n}", version="1.0", file=f"{package}/data/part{n:02d}.bin")

    def install(self, spec: LocalModelSpec, parts: list[bytes], only: set[int] | None = None) -> None:
        for n, (part, data) in enumerate(zip(spec.parts, parts, strict=True), start=1):
            if only is None or n in only:
                self.install_distribution(part.distribution, {part.file: data})

    def install_distribution(self, distribution: str, data_files: dict[str, bytes]) -> None:
        info = self.root / f"{distribution.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
        rows = []
        for name, data in data_files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            rows.append(f"{name},,")
        rows += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
        (info / "RECORD").write_text("\n".join(rows) + "\n")

    def data_file(self, spec: LocalModelSpec, n: int) -> Path:
        return self.root / spec.parts[n - 1].file

    def uninstall_all(self) -> None:
        for path in sorted(self.root.rglob("*"), reverse=True):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSite:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return FakeSite(root)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp" in p.name) if directory.is_dir() else []


class TestEnsureModelFileAssembly:
    def test_parts_are_concatenated_in_order_into_the_models_dir(self, site: FakeSite, models: Path) -> None:
        """Several parts become one file with exactly their bytes, under the alias's name, with no temporary left."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        path = ensure_model_file(spec, models)
        assert path == models / spec.file_name
        assert path.read_bytes() == b"".join(PARTS)
        assert leftovers(models) == []

    def test_progress_counts_up_to_the_total(
        self, site: FakeSite, models: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Progress reports strictly increasing byte counts against the model's size and ends at that size."""
        monkeypatch.setattr(files, "CHUNK", 5)  # several chunks per part
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        progress = Recorder()
        ensure_model_file(spec, models, progress=progress)
        done = [d for d, _ in progress.calls]
        assert len(done) > len(PARTS)
        assert all(a < b for a, b in itertools.pairwise(done))
        assert done[-1] == spec.size
        assert {total for _, total in progress.calls} == {spec.size}

    def test_a_stamped_file_is_reused_without_reading_the_parts(self, site: FakeSite, models: Path) -> None:
        """Once verified, the file is returned again from its stamp, even with the packages gone, without hashing."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        first = ensure_model_file(spec, models)
        site.uninstall_all()
        progress = Recorder()
        assert ensure_model_file(spec, models, progress=progress) == first
        assert progress.calls == []
        assert status(spec, models).ready_path == first

    def test_a_missing_part_package_is_named_with_the_extra_to_install(self, site: FakeSite, models: Path) -> None:
        """Without one part's package the error names that package and the pip extra; nothing is written."""
        spec = site.spec(PARTS, extra="local-medium")
        site.install(spec, PARTS, only={1, 3})
        with pytest.raises(LocalModelError) as caught:
            ensure_model_file(spec, models)
        message = str(caught.value)
        assert spec.parts[1].distribution in message
        assert spec.parts[0].distribution not in message
        assert "pip install 'autodev[local-medium]'" in message
        assert not (models / spec.file_name).exists()
        assert missing_parts(spec) == [spec.parts[1].distribution]
        assert status(spec, models).installed is False

    @pytest.mark.parametrize(
        ("damage", "words"),
        [
            (lambda data: data[:-3], "bytes"),  # truncated
            (lambda data: data[:4] + b"X" + data[5:], "SHA-256"),  # altered, same size
        ],
        ids=["truncated", "altered"],
    )
    def test_a_damaged_part_is_refused_leaving_no_file(
        self, site: FakeSite, models: Path, damage: Callable[[bytes], bytes], words: str
    ) -> None:
        """A truncated or altered part fails verification: a clear error, no model file, no temporary file."""
        damaged = list(PARTS)
        damaged[1] = damage(PARTS[1])
        spec = site.spec(PARTS)
        site.install(spec, damaged)
        with pytest.raises(LocalModelError, match=words) as caught:
            ensure_model_file(spec, models)
        assert "--force-reinstall" in str(caught.value)
        assert not (models / spec.file_name).exists()
        assert leftovers(models) == []
        assert status(spec, models).ready_path is None

    def test_a_touched_assembled_file_is_verified_again_not_rebuilt(self, site: FakeSite, models: Path) -> None:
        """A new mtime voids the stamp: the file is hashed again (no parts needed) and stamped anew."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        path = ensure_model_file(spec, models)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        site.uninstall_all()
        progress = Recorder()
        assert ensure_model_file(spec, models, progress=progress) == path
        assert progress.calls[-1] == (spec.size, spec.size)
        again = Recorder()
        assert ensure_model_file(spec, models, progress=again) == path
        assert again.calls == []

    def test_a_replaced_assembled_file_is_rebuilt_from_the_parts(self, site: FakeSite, models: Path) -> None:
        """An assembled file whose bytes changed fails re-verification and is assembled afresh."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        path = ensure_model_file(spec, models)
        path.write_bytes(b"Y" * spec.size)
        assert ensure_model_file(spec, models) == path
        assert path.read_bytes() == b"".join(PARTS)

    def test_a_replaced_assembled_file_without_parts_is_refused_and_removed(self, site: FakeSite, models: Path) -> None:
        """A wrong file under the model's name is deleted, and with no parts to rebuild from, the alias fails."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        path = ensure_model_file(spec, models)
        path.write_bytes(b"short")
        site.uninstall_all()
        with pytest.raises(LocalModelError, match="not installed"):
            ensure_model_file(spec, models)
        assert not path.exists()

    def test_temporaries_of_dead_processes_are_removed(self, site: FakeSite, models: Path) -> None:
        """A half-written temporary left by a killed process is cleaned up by the next assembly."""
        spec = site.spec(PARTS)
        site.install(spec, PARTS)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
        models.mkdir()
        orphan = models / f".{spec.file_name}.tmp-{int(dead.stdout)}"
        orphan.write_bytes(b"half")
        ensure_model_file(spec, models)
        assert not orphan.exists()


class TestEnsureModelFileSinglePart:
    def test_a_single_part_is_verified_in_place(self, site: FakeSite, models: Path) -> None:
        """One part is the model file itself: it is hashed and returned where it lies, never copied."""
        spec = site.spec([b"the whole model"])
        site.install(spec, [b"the whole model"])
        path = ensure_model_file(spec, models)
        assert path == site.data_file(spec, 1)
        assert not (models / spec.file_name).exists()
        assert status(spec, models).ready_path == path

    def test_an_altered_single_file_is_refused(self, site: FakeSite, models: Path) -> None:
        """A package file that does not match is refused, also after an earlier successful verification."""
        spec = site.spec([b"the whole model"])
        site.install(spec, [b"the whole model"])
        path = ensure_model_file(spec, models)
        path.write_bytes(b"the whole modeL")
        with pytest.raises(LocalModelError, match="SHA-256"):
            ensure_model_file(spec, models)
        assert status(spec, models).ready_path is None
        assert path.exists()  # the package's own file is reported, never deleted


class TestLocatePart:
    def test_an_installed_package_without_the_file_says_reinstall(self, site: FakeSite) -> None:
        """A distribution whose file list lacks the data file is reported as damaged, not as absent."""
        spec = site.spec([b"x"])
        site.install_distribution(spec.parts[0].distribution, {"elsewhere/other.bin": b"x"})
        with pytest.raises(LocalModelError, match=r"installed but lacks .*reinstall"):
            locate_part(spec.parts[0])

    def test_a_listed_file_deleted_from_disk_is_missing(self, site: FakeSite) -> None:
        """A RECORD entry whose file was deleted counts as a missing part."""
        spec = site.spec([b"x"])
        site.install(spec, [b"x"])
        site.data_file(spec, 1).unlink()
        assert missing_parts(spec) == [spec.parts[0].distribution]


class TestModelsDir:
    def test_configured_directory_wins(self, tmp_path: Path) -> None:
        """[local] models_dir is used as given, over XDG_CACHE_HOME and HOME."""
        env = {"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}
        assert models_dir(str(tmp_path / "m"), env) == tmp_path / "m"

    def test_configured_directory_reaches_the_server_manager(self, tmp_path: Path) -> None:
        """autodev.toml's [local] models_dir is where servers are registered and models assembled."""
        config = parse_config({"local": {"models_dir": str(tmp_path / "m")}}, source="autodev.toml")
        manager, directory = server_manager(config, {"XDG_CACHE_HOME": "/xdg"})
        assert directory == tmp_path / "m"
        assert manager.registry.directory == tmp_path / "m" / "servers"

    def test_xdg_cache_home_is_honoured(self) -> None:
        """Without configuration, models live under $XDG_CACHE_HOME/autodev/models."""
        assert models_dir(None, {"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}) == Path("/xdg/autodev/models")

    def test_home_cache_is_the_fallback(self) -> None:
        """Without XDG_CACHE_HOME (or with it empty), models live under ~/.cache/autodev/models."""
        assert models_dir(None, {"HOME": "/home/u"}) == Path("/home/u/.cache/autodev/models")
        assert models_dir(None, {"XDG_CACHE_HOME": "", "HOME": "/home/u"}) == Path("/home/u/.cache/autodev/models")
