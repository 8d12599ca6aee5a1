"""Search results shared by every backend: the result type, domain filtering and the tool's text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from .._errors import ConfigurationError

ContextSize = Literal["low", "medium", "high"]

RESULT_COUNTS: dict[ContextSize, int] = {"low": 3, "medium": 5, "high": 10}
"""Results given to the model per ``search_context_size``."""

SNIPPET_CHARS: dict[ContextSize, int] = {"low": 300, "medium": 600, "high": 1200}
"""Longest snippet (in characters) kept per result per ``search_context_size``."""


@dataclass(frozen=True)
class SearchResult:
    """One web search hit, normalised across backends."""

    title: str
    url: str
    snippet: str


def check_context_size(size: str) -> ContextSize:
    """``size`` if it is ``low``, ``medium`` or ``high``; ``ConfigurationError`` otherwise."""
    if size in RESULT_COUNTS:
        return size
    raise ConfigurationError(f"search_context_size must be 'low', 'medium' or 'high', not {size!r}")


def normalize_domains(domains: Iterable[str] | None) -> tuple[str, ...] | None:
    """Lower-case host names from ``domains`` (URLs and ``*.`` prefixes accepted); None if none."""
    if domains is None:
        return None
    if isinstance(domains, str):
        domains = [domains]
    hosts: list[str] = []
    for raw in domains:
        text = raw.strip().lower()
        if "://" in text:
            text = urlsplit(text).hostname or ""
        text = text.split("/", 1)[0].removeprefix("*.").strip(".")
        if not text:
            raise ConfigurationError(f"allowed_domains entry {raw!r} names no domain")
        if text not in hosts:
            hosts.append(text)
    if not hosts:
        raise ConfigurationError("allowed_domains is empty; pass None to allow every domain")
    return tuple(hosts)


def in_domains(url: str, domains: Sequence[str]) -> bool:
    """True if ``url``'s host is one of ``domains`` or a subdomain of one."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def site_query(query: str, domains: Sequence[str] | None) -> str:
    """``query`` restricted with ``site:`` operators, for engines that understand them."""
    if not domains:
        return query
    sites = " OR ".join(f"site:{domain}" for domain in domains)
    return f"{query} ({sites})" if len(domains) > 1 else f"{query} {sites}"


def select_results(
    results: Iterable[SearchResult], *, limit: int, domains: Sequence[str] | None
) -> list[SearchResult]:
    """Drop results without a URL, outside ``domains`` or repeated; keep at most ``limit``."""
    kept: list[SearchResult] = []
    seen: set[str] = set()
    for result in results:
        if not result.url or result.url in seen:
            continue
        if domains and not in_domains(result.url, domains):
            continue
        seen.add(result.url)
        kept.append(result)
        if len(kept) >= limit:
            break
    return kept


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def format_results(
    query: str,
    results: Sequence[SearchResult],
    *,
    backend: str,
    snippet_chars: int,
    domains: Sequence[str] | None,
) -> str:
    """The text the model receives: a header, then title, URL and snippet per result."""
    where = f" within {', '.join(domains)}" if domains else ""
    if not results:
        return f'web_search: no results for "{query}"{where} (backend: {backend}).'
    count = f"{len(results)} result" + ("" if len(results) == 1 else "s")
    lines = [f'Web search results for "{query}"{where} ({count}, backend: {backend}):']
    for number, result in enumerate(results, start=1):
        lines.append("")
        lines.append(f"{number}. {_clip(result.title, 200) or '(untitled)'}")
        lines.append(f"   URL: {result.url}")
        snippet = _clip(result.snippet, snippet_chars)
        if snippet:
            lines.append(f"   {snippet}")
    return "\n".join(lines)
