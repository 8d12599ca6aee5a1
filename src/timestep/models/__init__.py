"""Model providers: prefix routing (``MultiModelProvider``) and Ollama, local or cloud."""

from ._defaults import DEFAULT_MAX_TURNS, with_default_provider
from ._multi_provider import MultiModelProvider, MultiModelProviderMap
from ._ollama_model import OllamaModel
from ._ollama_provider import OllamaModelProvider

__all__ = [
    "DEFAULT_MAX_TURNS",
    "MultiModelProvider",
    "MultiModelProviderMap",
    "OllamaModel",
    "OllamaModelProvider",
    "with_default_provider",
]
