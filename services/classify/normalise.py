"""Folding text so that one lexicon pattern matches every way feeds write it.

Feeds deliver HTML entities, tags, full-width forms, curly quotes, control characters,
Simplified and Traditional Chinese (with Taiwan and Hong Kong vocabulary). Both the
lexicon patterns and the article text go through :func:`fold`, so a pattern written
once ("人工智能", "large-language model") matches "人工智慧", "人工智慧", "Large
Language Models" alike.

Traditional → Simplified uses OpenCC's own dictionaries (shipped with
opencc-python-reimplemented) compiled into a character regex and a phrase automaton:
the OpenCC converter itself costs ~2 ms per article, the regex a few µs.
The phrase step (Taiwan vocabulary: 晶片→芯片, 演算法→算法) runs only on text that
contains Traditional characters.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import ahocorasick

from services.opencc_tables import opencc_dictionary_dir, opencc_tables

FIELD_SEPARATOR = "\ue000"  # private use: joins fields folded in one pass, untouched by folding
_TAGS = re.compile("<[^<>\ue000]{0,500}>")
_SPACES = re.compile(" {2,}")
_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")

# One regex finds every character that folding changes; each is mapped through a cached
# table (NFKC of the character, separators to a space, curly apostrophes to "'"). NFKC or
# str.translate over whole strings cost ~100 µs per non-ASCII summary; this a few µs.
# Plain spaces and the full-width punctuation of Chinese prose (，。（）) are left alone.
_SEPARATOR_CHARS = (
    "\x00-\x1f\x7f-\x9f\\-_/|\\\\\u00a0\u00ad\u1680\u2000-\u200b\u2010-\u2015\u2028\u2029\u202f"
    "\u205f\u2212\u3000\ufeff\uff0d\uff0f\uff3c\uff3f\uff5c"
)
_SEPARATOR = re.compile(f"[{_SEPARATOR_CHARS}]")
_ASCII_SEPARATORS = re.compile("[\\x00-\\x1f\\x7f\\-_/|\\\\]+")
_APOSTROPHES = frozenset("\u2018\u2019\u02bc\u2032`\uff07")
_FOLDABLE = re.compile(
    f"[{_SEPARATOR_CHARS}\u2018\u2019\u02bc\u2032`"
    # full-width letters, digits and the punctuation found inside lexicon terms ("人工智能＋", "：")
    "\uff02\uff03\uff06\uff07\uff0b\uff0e\uff10-\uff1a\uff21-\uff3a\uff41-\uff5a"
    # other compatibility forms: superscripts, fractions, ligatures, circled and squared forms
    "\u00a8\u00aa\u00af\u00b2-\u00b5\u00b8-\u00ba\u00bc-\u00be\u2024-\u2026\u2100-\u218f\u2460-\u24ff"
    "\u3200-\u33ff\ufb00-\ufb4f\ufe30-\ufe6f\uff5f-\uffef]"
)


class _FoldedCharacters(dict[str, str]):
    def __missing__(self, char: str) -> str:
        folded = "'" if char in _APOSTROPHES else _SEPARATOR.sub(" ", unicodedata.normalize("NFKC", char))
        self[char] = folded
        return folded


_FOLDED = _FoldedCharacters()


def _fold_character(match: re.Match[str]) -> str:
    return _FOLDED[match.group()]


# Traditional code points in everyday Simplified use (besides those OpenCC maps to themselves).
_SHARED_CHARACTERS = "昇瞭甦夥剋"


class ChineseFolding:
    """Traditional (incl. Taiwan / Hong Kong usage) → Simplified, as OpenCC's tw2sp does."""

    def __init__(self, dictionary_dir: Path | None) -> None:
        self.chars: dict[str, str] = {}
        self.pattern: re.Pattern[str] | None = None
        self.phrases: ahocorasick.Automaton | None = None
        if dictionary_dir is None or not dictionary_dir.is_dir():
            return
        self.shared: set[str] = set(_SHARED_CHARACTERS)
        for trad, candidates in self._read_all(dictionary_dir, "TSCharacters.txt").items():
            simp = candidates[0]
            # Astral-plane characters are left out: rare, and they make the regex slow.
            if len(trad) == 1 and len(simp) == 1 and trad != simp and ord(trad) < 0x10000:
                self.chars[trad] = simp
                if trad in candidates:
                    self.shared.add(trad)
        if self.chars:
            self.pattern = re.compile("[" + "".join(sorted(self.chars)) + "]")
        phrases = self._read(dictionary_dir, "TWPhrasesRev.txt", "TWVariantsRevPhrases.txt", "TSPhrases.txt")
        automaton = ahocorasick.Automaton()
        for trad, simp in phrases.items():
            if len(trad) > 1:
                automaton.add_word(trad, (len(trad), simp))
        if len(automaton):
            automaton.make_automaton()
            self.phrases = automaton

    @staticmethod
    def _read_all(directory: Path, *names: str) -> dict[str, tuple[str, ...]]:
        return opencc_tables(directory, *names)

    @classmethod
    def _read(cls, directory: Path, *names: str) -> dict[str, str]:
        return {key: values[0] for key, values in cls._read_all(directory, *names).items()}

    def to_simplified(self, text: str, traditional: bool = False) -> tuple[str, bool]:
        """The text in Simplified characters, and whether it was written in Traditional.

        Some Traditional code points also occur in Simplified text (乾隆, 昇腾, 慰藉): they
        are converted but do not make the text count as Traditional. ``traditional``
        forces the phrase step (lexicon patterns, which may be written either way).
        """
        if self.pattern is None:
            return text, False
        simplified, changed = self.pattern.subn(self._simplify, text)
        if not changed and not traditional:
            return text, False
        changed -= sum(text.count(c) for c in self.shared)
        if not traditional and changed < 2 and changed * 10 < _cjk_count(text):
            return simplified, False
        if self.phrases is not None:
            simplified = self.pattern.sub(self._simplify, self._replace_phrases(text))
        return simplified, True

    def _simplify(self, match: re.Match[str]) -> str:
        return self.chars[match.group()]

    def _replace_phrases(self, text: str) -> str:
        assert self.phrases is not None
        pieces: list[str] = []
        last = 0
        for end, (length, replacement) in self.phrases.iter_long(text):
            start = end - length + 1
            pieces.append(text[last:start])
            pieces.append(replacement)
            last = end + 1
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)


def _cjk_count(text: str) -> int:
    """Rough count of CJK characters: they take 3 bytes in UTF-8, ASCII one."""
    return (len(text.encode("utf-8", "surrogatepass")) - len(text)) // 2


@lru_cache(maxsize=1)
def chinese_folding() -> ChineseFolding:
    return ChineseFolding(opencc_dictionary_dir())


def clean(text: str) -> str:
    """Entities decoded, tags dropped, compatibility forms folded (NFKC), separators and spaces folded."""
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAGS.sub(" ", text)
    text = _ASCII_SEPARATORS.sub(" ", text)  # the common case, without a callback per match
    if not text.isascii():
        text = _FOLDABLE.sub(_fold_character, text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def fold(text: str, traditional: bool = False) -> tuple[str, bool]:
    """Clean text in Simplified characters (original casing), and whether it was Traditional."""
    text = clean(text)
    if text.isascii() or not _CJK.search(text):
        return text, False
    return chinese_folding().to_simplified(text, traditional)


def lower_same_length(text: str) -> str:
    """Lower-cased text with the same length, so offsets match the cased text."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
