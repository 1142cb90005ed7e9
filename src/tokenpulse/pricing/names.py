"""Model-name normalisation: the many spellings of one model, reduced to price-book keys.

Tools report the same model as `claude-sonnet-4-5-20250929`, `anthropic/claude-sonnet-4-5`,
`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `claude-sonnet-4-5@20250929`,
`claude-sonnet-4.5`, `claude-4.5-sonnet-thinking` or `claude-sonnet-4-5[1m]`. `candidates()`
yields the names to try, most specific first; the price book takes the first it knows. There is
deliberately no fuzzy or substring matching: a model we cannot name exactly is reported as
unpriced rather than priced as some other model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_BRACKET_SUFFIX = re.compile(r"\[[^\]]*\]$")  # claude-sonnet-4-5[1m]
_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|ap|global|jp|au|ca|us-gov)\.")
_BEDROCK_VENDOR = re.compile(r"^(?:anthropic|openai|google|meta|amazon)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")  # -v1:0, on Bedrock ids only
_BEDROCK_VERSION_COLON = re.compile(r"-v\d+:\d+$")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")  # -20250929, -2025-08-07
_THINKING_SUFFIX = re.compile(r"(?::|-)thinking$")
_EFFORT_SUFFIX = re.compile(r"-(?:minimal|low|medium|high|xhigh)$")
_CLAUDE_DOTTED = re.compile(r"(?<=\d)\.(?=\d)")
_CLAUDE_VERSION_FIRST = re.compile(r"^claude-(\d+(?:-\d+)?)-(opus|sonnet|haiku)(.*)$")


def _claude_spelling(name: str) -> str:
    """claude-opus-4.6 -> claude-opus-4-6; claude-4-5-sonnet -> claude-sonnet-4-5 (from 4 on)."""
    if not name.startswith("claude"):
        return name
    name = _CLAUDE_DOTTED.sub("-", name)
    match = _CLAUDE_VERSION_FIRST.match(name)
    if match and int(match.group(1).split("-")[0]) >= 4:
        name = f"claude-{match.group(2)}-{match.group(1)}{match.group(3)}"
    return name


def base_name(raw: str) -> str:
    """Lower-case, provider/route prefixes and deployment decorations removed; dates kept."""
    name = raw.strip().lower()
    name = _BRACKET_SUFFIX.sub("", name)
    name = name.rsplit("/", 1)[-1]  # anthropic/…, openrouter/anthropic/…, models/gemini-…
    bedrock = name.startswith(("anthropic.", "openai.", "google.", "meta.", "amazon.")) or bool(
        _BEDROCK_REGION.match(name))
    name = _BEDROCK_REGION.sub("", name)
    name = _BEDROCK_VENDOR.sub("", name)
    if bedrock or _BEDROCK_VERSION_COLON.search(name):  # `deepseek-v3` is a model name, not a version
        name = _BEDROCK_VERSION.sub("", name)
    name = name.replace("@", "-")  # Vertex AI: claude-sonnet-4-5@20250929
    return _claude_spelling(name)


def candidates(raw: str) -> Iterator[str]:
    """Names to look up for a reported model id, most specific first, without repeats."""
    seen: set[str] = set()

    def fresh(name: str) -> bool:
        if name and name not in seen:
            seen.add(name)
            return True
        return False

    exact = raw.strip().lower()
    if fresh(exact):
        yield exact
    name = base_name(raw)
    if fresh(name):
        yield name
    for pattern in (_THINKING_SUFFIX, _DATE_SUFFIX, _EFFORT_SUFFIX, _DATE_SUFFIX):
        stripped = pattern.sub("", name)
        if stripped != name:
            name = stripped
            if fresh(name):
                yield name
    if name.endswith("-latest") and fresh(name.removesuffix("-latest")):
        yield name.removesuffix("-latest")
