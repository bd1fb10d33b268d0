"""From raw command output to the text we store, and the text we compare.

The pipeline, in order (every step is driven by the :class:`~.profiles.Profile` data)::

    raw output per command
      -> normalise_output   CR/LF, ANSI/backspace, command echo, trailing prompt, trailing blanks
      -> check_rejected     the device answered with an error -> COMMAND_REJECTED
      -> join_outputs       one text (section headers when several commands)
      -> cleanup + delete_lines   dropped before storing
      -> mask_secrets       secret values replaced by ``<removed>`` (on by default)
      = stored text
    stored text -> comparable_text (ignore_lines dropped) -> "changed" decision
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

try:  # the regex parser of the stdlib's own re (re._parser since 3.11)
    from re import _constants, _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older layout
    import sre_constants as _constants  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

from hib_orchestrator.devices.profiles import Profile
from hib_orchestrator.errors import CommandRejected

MASK = "<removed>"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\x1b[=>]")
_BACKSPACE = re.compile(r"[^\n]\x08")


@lru_cache(maxsize=512)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches_any(line: str, patterns: Iterable[str]) -> bool:
    return any(_rx(p).search(line) for p in patterns)


_BACKREF = re.compile(r"\\[1-9]|\(\?P=")
_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


@lru_cache(maxsize=256)
def _line_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One ``search`` per line for a whole rule list: a line goes if any rule matches it.

    The rules are joined into one alternation (a leading ``(?i)`` becomes a scoped ``(?i:...)``)
    so that a 400-line config costs 400 regex calls, not 400 x rules Python-level calls. Rules
    the join could change (backreferences, duplicate group names) keep the one-by-one test.
    """
    if not patterns:
        return lambda line: False
    if not any(_BACKREF.search(p) for p in patterns):
        parts = []
        for p in patterns:
            flags = _GLOBAL_FLAGS.match(p)
            parts.append(f"(?{flags.group(1)}:{p[flags.end():]})" if flags else f"(?:{p})")
        try:
            search = re.compile("|".join(parts)).search
        except re.error:
            pass
        else:
            return lambda line: search(line) is not None
    return lambda line: _matches_any(line, patterns)


def normalise_output(profile: Profile, command: str, raw: str) -> str:
    """Clean one command's raw session output (as netmiko returns it without stripping).

    Drops the echoed command (first line ending with it), the trailing prompt line, terminal
    control sequences and trailing whitespace; keeps everything else byte for byte.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    while _BACKSPACE.search(text):
        text = _BACKSPACE.sub("", text)
    text = text.replace("\x08", "")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and lines[0].strip().endswith(command.strip()):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and profile.prompt and _rx(profile.prompt).match(lines[-1]):
        lines.pop()
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def check_rejected(profile: Profile, command: str, output: str, *, host: str | None = None) -> None:
    """Raise when the device answered ``command`` with an error instead of output.

    Only the first lines are looked at: a config may legitimately contain such words further down.

    Raises:
        CommandRejected: a rejection pattern of the profile matched.
    """
    head = [line for line in output.split("\n") if line.strip()][:3]
    for line in head:
        if _matches_any(line, profile.rejections):
            raise CommandRejected(f"{command!r} rejected by the device: {line.strip()[:120]}",
                                  host=host)


def join_outputs(profile: Profile, outputs: Sequence[tuple[str, str]]) -> str:
    """Join ``(command, output)`` pairs; section headers only when there are several."""
    if len(outputs) == 1 or not profile.section_header:
        return "\n".join(out for _, out in outputs)
    parts = []
    for command, out in outputs:
        parts.append(profile.section_header.format(command=command))
        if out:
            parts.append(out)
    return "\n".join(parts)


def remove_lines(text: str, patterns: Iterable[str]) -> str:
    """Drop every line matching one of the regexes."""
    patterns = tuple(patterns)
    if not patterns:
        return text
    matches = _line_matcher(patterns)
    return "\n".join(line for line in text.split("\n") if not matches(line))


@lru_cache(maxsize=512)
def _required_words(regex: re.Pattern[str]) -> tuple[str, ...]:
    """Strings one of which every match of ``regex`` contains (``("",)``: no such hint).

    Most secret rules are unanchored (``\\bkey-string ...``) and the regex engine tries them at
    every position of the config: ~0.5 ms per rule for a 13 kB config, most of masking's cost.
    A rule whose required literal is not in the text cannot match, so a substring test (memchr
    fast) skips it. Only plain top-level literals are used (and, for a top-level alternation,
    one per branch); case-insensitive rules get no hint.
    """
    if regex.flags & re.IGNORECASE:
        return ("",)
    try:
        parsed = _parser.parse(regex.pattern, regex.flags)
    except Exception:  # a pattern sre cannot re-parse here: no hint, plain behaviour
        return ("",)
    words = _longest_literal(list(parsed))
    if words:
        return (words,)
    branches = _top_branch(list(parsed))
    return branches or ("",)


def _longest_literal(items: list[tuple[object, object]]) -> str:
    best, run = "", []
    for op, arg in [*items, (None, None)]:
        if op is _constants.LITERAL:
            run.append(chr(arg))  # type: ignore[arg-type]
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best if len(best) >= 3 else ""


def _top_branch(items: list[tuple[object, object]]) -> tuple[str, ...]:
    # `\b(?:password|secret) ...`: one word per branch, each branch's own required literal.
    for op, arg in items:
        if op is _constants.SUBPATTERN:
            return _top_branch(list(arg[-1]))  # type: ignore[index]
        if op is _constants.BRANCH:
            words = tuple(_longest_literal(list(branch)) for branch in arg[1])  # type: ignore[index]
            return words if all(words) else ()
        if op not in (_constants.AT, _constants.LITERAL):
            return ()
    return ()


def mask_secrets(text: str, patterns: Iterable[str]) -> str:
    """Replace every ``(?P<secret...>)`` group of every pattern with :data:`MASK`.

    Patterns apply one after another (multi-line mode), so overlapping rules are harmless. Groups
    whose names start with ``secret`` are masked, letting one rule hide several values a line.
    """
    for pattern in patterns:
        regex = _rx("(?m)" + pattern)
        groups = [name for name in regex.groupindex if name.startswith("secret")]
        if not groups or not any(word in text for word in _required_words(regex)):
            continue

        def _sub(match: re.Match[str], groups: list[str] = groups) -> str:
            spans = sorted(match.span(name) for name in groups if match.start(name) >= 0)
            out, pos = [], match.start()
            for start, end in spans:
                if start >= pos:
                    out += [match.string[pos:start], MASK]
                    pos = end
            out.append(match.string[pos : match.end()])
            return "".join(out)

        text = regex.sub(_sub, text)
    return text


def stored_text(profile: Profile, outputs: Sequence[tuple[str, str]], *, mask: bool = True) -> str:
    """The text to store: joined outputs, cleanup and delete-before-storing applied, masked."""
    text = join_outputs(profile, outputs)
    text = remove_lines(text, (*profile.cleanup, *profile.delete_lines))
    if mask:
        text = mask_secrets(text, profile.mask_secrets)
    text = text.strip("\n")
    return text + "\n" if text else ""


def comparable_text(profile: Profile, text: str) -> str:
    """``text`` without ignore-when-comparing lines and trailing blanks: equal means unchanged."""
    lines = remove_lines(text, profile.ignore_lines).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def significant_lines(profile: Profile, text: str) -> list[str]:
    """Non-blank, non-comment lines that are not volatile."""
    comment = _rx(profile.comment) if profile.comment else None
    return [
        line
        for line in comparable_text(profile, text).split("\n")
        if line.strip() and not (comment and comment.match(line))
    ]


__all__ = [
    "MASK",
    "check_rejected",
    "comparable_text",
    "join_outputs",
    "mask_secrets",
    "normalise_output",
    "remove_lines",
    "significant_lines",
    "stored_text",
]
