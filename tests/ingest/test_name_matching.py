"""The story name catalogue finds aliases with automata exactly as its word-boundary regex would."""

from __future__ import annotations

import pytest

from services.ingest.story_keys import NameCatalogue, _find_names, english_aliases, name_catalogue


@pytest.fixture(scope="module")
def catalogue() -> NameCatalogue:
    return name_catalogue()


def regex_aliases(catalogue: NameCatalogue, text: str) -> list[str]:
    return [m.group(1).lower() for m in catalogue.english.finditer(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Musk's new bid and MUSK shares; musks everywhere",
        "Altmans plan: Altman and altman-style posts, not saltman",
        "Apple Intelligence arrives as Apple spends more",
        "Tepper, Buffett and Powell; buffetts; TEPPER1 and 2Tepper",
        "the Apple iPhone ships to Apple's clients",
        "İstanbul summit: Musk and Altman meet",  # a letter whose lower case is longer: the regex path
        "",
    ],
)
def test_the_automaton_finds_what_the_regex_finds(catalogue: NameCatalogue, text: str) -> None:
    assert english_aliases(catalogue, text) == regex_aliases(catalogue, text)


def test_whole_words_only_and_the_plural_is_taken(catalogue: NameCatalogue) -> None:
    assert english_aliases(catalogue, "xmusk muskx") == []
    assert english_aliases(catalogue, "two Musks") == ["musk"]
    assert english_aliases(catalogue, "Apple Intelligence") == ["apple intelligence"], "the longest alias wins"


def test_chinese_aliases_are_found_inside_running_text(catalogue: NameCatalogue) -> None:
    names: set[str] = set()
    _find_names(catalogue, "据报道马斯克与苹果今日均表示", names, set())
    assert {"Elon Musk", "Apple"} <= names
