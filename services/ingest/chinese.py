"""Simplified or Traditional: decided by characters that exist in only one of the two scripts."""

from __future__ import annotations

import re
from functools import lru_cache

from services.opencc_tables import opencc_dictionary_dir, opencc_table

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def traditional_only_chars() -> frozenset[str]:
    """Characters that OpenCC maps from Traditional to a different Simplified character."""
    directory = opencc_dictionary_dir()
    if directory is None:  # pragma: no cover - opencc is a declared dependency
        return frozenset()
    table = opencc_table(directory / "TSCharacters.txt")
    return frozenset(source for source, targets in table.items() if len(source) == 1 and source not in targets)


@lru_cache(maxsize=1)
def _traditional_pattern() -> re.Pattern[str]:
    return re.compile("[" + re.escape("".join(sorted(traditional_only_chars()))) + "]")


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def han_script(text: str) -> str:
    """zh-Hant when Traditional-only characters make up a clear share of the Han text, else zh-Hans."""
    han = len(_HAN.findall(text))
    n_trad = len(_traditional_pattern().findall(text))
    return "zh-Hant" if n_trad >= 2 and n_trad * 10 >= han else "zh-Hans"
