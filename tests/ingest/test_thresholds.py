"""The thresholds behind dedup and story grouping, at their boundaries: entry keys, story similarity, LSH bands."""

from __future__ import annotations

import hashlib

import pytest

from services.ingest.normalise import fingerprint, fold_for_fingerprint
from services.ingest.parse import MAX_KEY_CHARS, entry_key
from services.ingest.stories import (
    BANDS,
    MIN_JACCARD,
    MIN_SHARED,
    SURE_JACCARD,
    Similarity,
    band_keys,
    same_story,
    similarity,
)


def test_entry_key_prefers_guid_then_link_then_fingerprint() -> None:
    assert entry_key("g-1", "https://news.example/a", "f" * 64) == "guid:g-1"
    assert entry_key(None, "https://news.example/a", "f" * 64) == "url:https://news.example/a"
    assert entry_key("", "https://news.example/a", "f" * 64) == "url:https://news.example/a"
    assert entry_key(None, None, "ab" * 32) == "fp:" + "ab" * 32
    assert entry_key("", "", "cd") == "fp:cd"


def test_entry_key_of_exactly_the_limit_is_kept_and_one_more_is_hashed() -> None:
    at_limit = "g" * (MAX_KEY_CHARS - len("guid:"))
    assert entry_key(at_limit, None, "x") == "guid:" + at_limit
    over = at_limit + "h"
    hashed = entry_key(over, None, "x")
    assert hashed == "guid:sha256:" + hashlib.sha256(("guid:" + over).encode()).hexdigest()
    link = "https://news.example/" + "p" * MAX_KEY_CHARS
    assert entry_key(None, link, "x") == "url:sha256:" + hashlib.sha256(("url:" + link).encode()).hexdigest()
    assert entry_key(over, None, "x") != entry_key(over + "i", None, "x")
    assert len(hashed) <= MAX_KEY_CHARS


@pytest.mark.parametrize(
    ("jaccard", "shared", "expected"),
    [
        (SURE_JACCARD, 0, True),
        (SURE_JACCARD - 0.0001, MIN_SHARED - 1, False),
        (MIN_JACCARD, MIN_SHARED, True),
        (MIN_JACCARD, MIN_SHARED - 1, False),
        (MIN_JACCARD - 0.0001, MIN_SHARED, False),
        (MIN_JACCARD - 0.0001, 100, False),
        (1.0, 1, True),
        (0.0, 0, False),
    ],
)
def test_same_story_boundaries(jaccard: float, shared: int, expected: bool) -> None:
    assert same_story(Similarity(jaccard, shared)) is expected


def test_no_similarity_is_never_the_same_story() -> None:
    assert same_story(None) is False


def test_similarity_is_jaccard_of_the_feature_sets() -> None:
    assert similarity({2, 4, 6}, {2, 4, 8}) == Similarity(0.5, 2)
    assert similarity({2, 4}, {2, 4}) == Similarity(1.0, 2)
    assert similarity({2}, {4}) == Similarity(0.0, 0)
    assert similarity(set(), set()) == Similarity(0.0, 0)
    assert similarity({2, 4, 6, 8}, {2}) == Similarity(0.25, 1)


def test_titles_whose_numbers_disagree_are_not_compared() -> None:
    # odd feature hashes stand for numbers ("Kimi K3" vs "Kimi K4"): both carry one, none agree -> not comparable
    assert similarity({3, 2, 4}, {5, 2, 4}) is None
    assert similarity({3, 5, 2}, {5, 7, 2}) == Similarity(2 / 4, 2), "one shared number is enough"
    assert similarity({3, 2, 4}, {2, 4}) == Similarity(2 / 3, 2), "only one side has a number"
    assert similarity({2, 4}, {3, 2, 4}) == Similarity(2 / 3, 2)


def test_band_keys_need_three_features() -> None:
    assert band_keys([]) == [] and band_keys([10]) == [] and band_keys([10, 12]) == []
    keys = band_keys([10, 12, 14])
    assert len(keys) == BANDS and all(isinstance(k, int) for k in keys)
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_band_keys_are_a_function_of_the_set() -> None:
    features = [1000 + 2 * i for i in range(12)]
    assert band_keys(features) == band_keys(list(reversed(features)))
    other = [5000 + 2 * i for i in range(12)]
    assert len(set(band_keys(features)) & set(band_keys(other))) == 0
    near = features[:-1] + [9998]
    assert 0 < len(set(band_keys(features)) & set(band_keys(near))) < BANDS, "near-duplicates share some bands"
    assert len(set(band_keys(features))) == BANDS, "each band has its own salt"


def test_fingerprint_folds_case_width_punctuation_and_spacing() -> None:
    base = fingerprint("Kimi K3 launched", "A new model, today.")
    assert base == fingerprint("KIMI  k3 LAUNCHED!", "a new model today")
    assert base == fingerprint("Ｋｉｍｉ Ｋ３ launched", "A new-model; today")
    assert base != fingerprint("Kimi K4 launched", "A new model, today.")
    assert base != fingerprint("Kimi K3 launched", "An old model, today.")
    assert len(base) == 64 and int(base, 16) >= 0


def test_fingerprint_keeps_title_and_summary_apart() -> None:
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert fingerprint("", "abc") != fingerprint("abc", "")
    assert fingerprint("标题", "") == fingerprint("标题。", "")
    assert fingerprint("标题", "") != fingerprint("标", "题")


def test_fold_for_fingerprint() -> None:
    assert fold_for_fingerprint("Ａ_b-C d!") == "abcd"
    assert fold_for_fingerprint("Straße") == "strasse"
    assert fold_for_fingerprint("") == ""


def test_a_long_key_with_a_lone_surrogate_is_still_hashed() -> None:
    guid = "g\ud800" * 150  # broken UTF-16 in a feed's GUID must not crash the poll
    assert (
        entry_key(guid, None, "x")
        == "guid:sha256:" + hashlib.sha256(("guid:" + guid).encode("utf-8", "surrogatepass")).hexdigest()
    )


def test_fingerprint_is_the_sha256_of_title_and_summary_joined_by_a_unit_separator() -> None:
    assert fingerprint("Ab", "C d") == hashlib.sha256(b"ab\x1fcd").hexdigest()


def test_band_keys_are_stable_across_releases() -> None:
    # band keys are stored (story_bands): a change of the hashing would split every story in the window
    assert band_keys([1000 + 2 * i for i in range(12)])[:4] == [
        -6373454586612123700,
        -1361672486243117793,
        -7565183648649409695,
        4969364730255767559,
    ]
