"""Simplified or Traditional: decided by characters that exist in only one of the two scripts."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def traditional_only_chars() -> frozenset[str]:
    """Characters that OpenCC maps from Traditional to a different Simplified character."""
    import opencc  # opencc-python-reimplemented ships its dictionaries as text files

    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    with table.open(encoding="utf-8") as lines:
        for line in lines:
            source, _, targets = line.rstrip("\n").partition("\t")
            if len(source) == 1 and source not in targets.split():
                chars.add(source)
    return frozenset(chars)


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def han_script(text: str) -> str:
    """zh-Hant when Traditional-only characters make up a clear share of the Han text, else zh-Hans."""
    trad = traditional_only_chars()
    han = [ch for ch in text if is_han(ch)]
    n_trad = sum(1 for ch in han if ch in trad)
    return "zh-Hant" if n_trad >= 2 and n_trad * 10 >= len(han) else "zh-Hans"
