"""Model providers: prefix routing (``MultiModelProvider``) and Ollama, local or cloud."""

from ._multi_provider import MultiModelProvider, MultiModelProviderMap
from ._ollama_model import OllamaModel
from ._ollama_provider import OllamaModelProvider

__all__ = ["MultiModelProvider", "MultiModelProviderMap", "OllamaModel", "OllamaModelProvider"]
