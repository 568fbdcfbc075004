"""Group articles that tell the same story (rewritten headlines, syndicated copies) into one story."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Article, Story
from services.ingest.chinese import is_han

_WORD = re.compile(r"[a-z0-9]+")
STORY_WINDOW = timedelta(days=3)
MAX_DISTANCE = 10


def shingles(text: str) -> list[str]:
    """Word bigrams for Latin text, character bigrams for Han text."""
    text = unicodedata.normalize("NFKC", text).casefold()
    words = _WORD.findall(text)
    han = [ch for ch in text if is_han(ch)]
    grams = [f"{a} {b}" for a, b in zip(words, words[1:])] or words
    grams += [a + b for a, b in zip(han, han[1:])]
    return grams


def simhash(text: str) -> int:
    """64-bit SimHash as a signed integer (fits a BIGINT column)."""
    weights = [0] * 64
    for gram in shingles(text):
        h = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if (h >> bit) & 1 else -1
    value = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def assign_story(session: Session, article: Article, now: datetime) -> Story:
    """Attach ``article`` to a recent story it nearly duplicates, or open a new story."""
    if article.simhash is not None:
        candidates = session.execute(
            select(Story).where(Story.first_seen_at >= now - STORY_WINDOW, Story.simhash.is_not(None))
        ).scalars()
        best = min(candidates, key=lambda s: hamming(s.simhash or 0, article.simhash or 0), default=None)
        if best is not None and hamming(best.simhash or 0, article.simhash) <= MAX_DISTANCE:
            best.article_count += 1
            best.last_seen_at = now
            article.story = best
            return best
    story = Story(title=article.title, simhash=article.simhash, first_seen_at=now, last_seen_at=now, article_count=1)
    session.add(story)
    article.story = story
    return story
