"""The bundled local models, as the local package has always imported them.

The catalog itself is pure data and lives in :mod:`autodev.model_catalog`, below :mod:`autodev.config` and
:mod:`autodev.llm`, which must tell a bundled alias from a file path or a provider's model without importing
this package (local depends on llm, never the other way round).
"""

from __future__ import annotations

from autodev.model_catalog import CATALOG, DEFAULT_LADDER, LOCAL_PREFIX, LocalModelSpec, ModelPart, is_local_alias

__all__ = ["CATALOG", "DEFAULT_LADDER", "LOCAL_PREFIX", "LocalModelSpec", "ModelPart", "is_local_alias"]
