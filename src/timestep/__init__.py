"""timestep: durable, resumable, cross-language OpenAI Agents SDK runs."""

__all__: list[str] = []
