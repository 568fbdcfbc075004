"""What an article is about, in terms that hold across outlets and languages: its event keys.

- *names*: canonical names of the classifier's bilingual entity catalogue (config/lexicon,
  matched by ``services.classify``) and of ``config/stories/names.yaml`` (people, places,
  organisations the catalogue does not hold): "DeepSeek" and "深度求索" give one key;
- *subjects*: common news subjects of names.yaml (an IPO, a tariff, a ban): weak evidence;
- *versions*: model and product versions (a token with letters and digits: "K2.5", "V3.2",
  "H20", "4o"), or a model name and a number ("Ernie 5.0" = "文心5.0" = "ernie5", "GPT-4.5"),
  so different versions are different stories;
- *numbers*: amounts with their scale folded ("$97.4 billion" = "974亿美元" = 9.74e10,
  "3.0%" = "3%"; a rounded amount, "近1000亿" or "nearly $100 billion", is kept as "~1e+11"
  and agrees with amounts within 10%), dates ("April 1" = "4月1日"), months, years.

Versions and numbers of the title are kept apart: two titles that both carry them and share
none report different developments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from services.classify.normalise import fold

NAMES_FILE = Path(__file__).resolve().parents[2] / "config" / "stories" / "names.yaml"
LEAD_CHARS = 300

_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        1,
    )
}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATE = re.compile(
    rf"\b({_MONTH_NAMES})\.? (\d{{1,2}})\b(?!\.\d|,\d)|\b(\d{{1,2}}) ({_MONTH_NAMES})\b", re.IGNORECASE
)
_EN_MONTH = re.compile(rf"\b({_MONTH_NAMES})\b", re.IGNORECASE)
_ZH_DATE = re.compile(r"(\d{1,2}) ?月 ?(\d{1,2}) ?[日号]")
_ZH_MONTH = re.compile(r"(\d{1,2}) ?月(?!份?\d)")
_YEAR = re.compile(
    r"(?<![\d.$€£¥])((?:19|20)\d\d)(?![\d%]|[.,]\d)(?! ?(?:万|亿|千|百|美元|元|[kmbt]\b|bn\b|mn\b|billion|million|thousand|trillion|percent))(?: ?年)?",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?) ?(?P<more>多|余)?(万亿|亿|万|千|trillion|billion|million|thousand|tn|bn|mn|[tbmk]\b|%|percent|pct)?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SCALE = {
    "万亿": 1e12,
    "亿": 1e8,
    "万": 1e4,
    "千": 1e3,
    "trillion": 1e12,
    "tn": 1e12,
    "t": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
}
# "近1000亿", "超100亿", "about $100 billion": a rounded amount, which agrees with any amount close to it
_APPROX_BEFORE = re.compile(
    r"(?:近|约|超|逾|超过|将近|接近|大约|高达|nearly|almost|about|around|roughly|approximately|over|more than|some|up to|~)"
    r" ?[$€£¥]?$",
    re.IGNORECASE,
)
_APPROX_AFTER = re.compile(r" ?(?:万亿|亿|万|千|[a-z]+)? ?(?:多|余)")
_VERSION = re.compile(r"(?<![a-z0-9.])((?:[a-z]+\d[a-z0-9.]*|\d+(?:\.\d+)?[a-z]+[a-z0-9.]*))(?![a-z0-9])")
_NOT_VERSIONS = re.compile(
    r"^(?:\d+(?:\.\d+)?(?:k|m|b|bn|mn|tn|t|st|nd|rd|th|s|h|am|pm|x|g|gb|tb|mw|gw|ms|pct)|(?:19|20)\d\ds|q[1-4]|h[12]|fy\d+|g[0-9]{1,2}|[a-z]\d{5,}.*)$"
)
_QUOTED = re.compile(r"[「『“\"《【‘]([^「」『』“”\"《》【】‘’]{2,24})[」』”\"》】’]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
_NOT_QUOTED = frozenset({"港股通", "新股ipo", "新股", "快讯", "独家", "重磅", "视频", "图", "港股异动"})


@dataclass
class EventKeys:
    title_names: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    title_subjects: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)
    title_versions: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    title_numbers: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    title_dates: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    quoted: set[str] = field(default_factory=set)  # names in quotation marks in the title (「天神之眼」, "VideoWorld")
    title_words: set[str] = field(
        default_factory=set
    )  # Latin-script words of the title, lower-cased ("autogpt", "windows")
    title_grams: set[str] = field(default_factory=set)  # Chinese character bigrams of the title ("芯片", "自研")
    # Names of the title the catalogues do not know, by their shape: CamelCase or capitals ("AutoGPT",
    # "ECARX"; not tickers in brackets nor a model family before its version), lower-cased ("autogpt")
    marks: set[str] = field(default_factory=set)

    def index_keys(self) -> set[str]:
        """Keys an article is findable by: names, versions, amounts, dates, and name pairs."""
        keys = {f"n:{n}" for n in self.names} | {f"v:{v}" for v in self.versions}
        keys |= {f"#:{n.lstrip('~')}" for n in self.numbers} | {f"d:{d}" for d in self.dates if d.startswith("md:")}
        ordered = sorted(self.names)
        keys |= {f"p:{a}|{b}" for i, a in enumerate(ordered) for b in ordered[i + 1 :]}
        keys |= {f"q:{a}|{v.lstrip('~')}" for a in ordered for v in self.versions | self.numbers}
        return keys

    def to_json(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.__dict__.items() if v}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EventKeys:
        keys = cls()
        for name, values in (data or {}).items():
            if hasattr(keys, name):
                setattr(keys, name, set(values))
        return keys


@dataclass(frozen=True)
class NameCatalogue:
    english: re.Pattern[str]
    cased: re.Pattern[str] | None
    chinese: tuple[tuple[str, str, str], ...]  # (alias, canonical, kind), longest alias first
    kind_of: dict[str, str]
    english_name: dict[str, str]
    groups: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()  # places and actions: weak evidence whose absence says nothing
    # The same aliases as automata (one pass over the text instead of a 500-way regex alternation or one
    # substring test per alias): english holds the lower-cased aliases, chinese (alias, canonical, kind).
    english_automaton: Any = None
    chinese_automaton: Any = None


def _load_names(path: Path = NAMES_FILE) -> NameCatalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("names"), list):
        raise ValueError(f"{path}: expected a mapping with a `names` list")
    english: dict[str, str] = {}
    cased: dict[str, str] = {}
    chinese: list[tuple[str, str, str]] = []
    kind_of: dict[str, str] = {}
    for n, entry in enumerate(data["names"]):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("aliases"), list)
        ):
            raise ValueError(f"{path}: names[{n}]: needs `name` and an `aliases` list")
        kind = entry.get("kind", "name")
        if kind not in ("name", "subject", "place", "action"):
            raise ValueError(f"{path}: names[{n}]: kind must be `name`, `subject`, `place` or `action`")
        canonical = entry["name"]
        kind_of[canonical] = kind
        if not isinstance(entry.get("cased", []), list):
            raise ValueError(f"{path}: names[{n}]: `cased` must be a list")
        for alias in entry.get("cased", []):
            cased[fold(str(alias))[0]] = canonical
        for alias in entry["aliases"]:
            alias = fold(str(alias))[0]
            if alias.isascii():
                if alias.isupper() and len(alias) <= 4:
                    cased[alias] = canonical
                else:
                    english[alias.lower()] = canonical
            else:
                chinese.append((alias, canonical, kind))

    def alternation(words: dict[str, str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    english_automaton = ahocorasick.Automaton()
    for alias in english:
        english_automaton.add_word(alias, alias)
    english_automaton.make_automaton()
    chinese_automaton = ahocorasick.Automaton()
    for alias, canonical, kind in chinese:
        chinese_automaton.add_word(alias, (alias, canonical, kind))
    chinese_automaton.make_automaton()
    return NameCatalogue(
        english_automaton=english_automaton,
        chinese_automaton=chinese_automaton if chinese else None,
        english=re.compile(rf"(?<![A-Za-z0-9])({alternation(english)})s?(?![A-Za-z0-9])", re.IGNORECASE),
        cased=re.compile(rf"(?<![A-Za-z0-9])({alternation(cased)})(?![A-Za-z0-9])") if cased else None,
        chinese=tuple(sorted(chinese, key=lambda c: -len(c[0]))),
        kind_of=kind_of,
        english_name={**english, **{k.lower(): v for k, v in cased.items()}},
        groups=frozenset(str(g) for g in data.get("group_entities") or []),
        places=frozenset(name for name, kind in kind_of.items() if kind in ("place", "action")),
    )


@lru_cache(maxsize=1)
def name_catalogue() -> NameCatalogue:
    return _load_names()


def _amount(value: str, unit: str | None) -> str | None:
    number = float(value)
    unit = (unit or "").lower()
    if unit in ("%", "percent", "pct"):
        return f"{number:g}%"
    number *= _SCALE.get(unit, 1.0)
    if number == 0:
        return None
    return f"{number:.4g}"


def _numbers(text: str) -> tuple[set[str], set[str]]:
    """(amounts, dates) in ``text``; years, months and days go to dates, not amounts."""
    dates: set[str] = set()
    spans: list[tuple[int, int]] = []
    for m in _ZH_DATE.finditer(text):
        dates.add(f"md:{int(m.group(1))}-{int(m.group(2))}")
        spans.append(m.span())
    for m in _EN_DATE.finditer(text):
        month = _MONTHS[(m.group(1) or m.group(4)).lower()]
        day = int(m.group(2) or m.group(3))
        if 1 <= day <= 31:
            dates.add(f"md:{month}-{day}")
            spans.append(m.span())
    for m in _ZH_MONTH.finditer(text):
        dates.add(f"m:{int(m.group(1))}")
        spans.append(m.span())
    for m in _EN_MONTH.finditer(text):
        if m.group(1).lower() != "may" or m.group(1)[0] == "M":
            dates.add(f"m:{_MONTHS[m.group(1).lower()]}")
    for m in _YEAR.finditer(text):
        dates.add(f"y:{m.group(1)}")
        spans.append(m.span())
    amounts: set[str] = set()
    for m in _NUMBER.finditer(text):
        if any(start <= m.start() < end for start, end in spans) or (
            m.group(1)[0] == "0" and len(m.group(1)) >= 3 and "." not in m.group(1)
        ):
            continue  # part of a date, or a stock code ("(09888)")
        amount = _amount(m.group(1), m.group(3))
        if amount is not None:
            approximate = (
                m.group("more") or _APPROX_BEFORE.search(text, 0, m.start()) or _APPROX_AFTER.match(text, m.end())
            )
            amounts.add(f"~{amount}" if approximate and not amount.endswith("%") else amount)
    return amounts, dates


def _versions(lowered: str) -> set[str]:
    found = set()
    for m in _VERSION.finditer(lowered):
        token = m.group(1).rstrip(".")
        if not _NOT_VERSIONS.match(token):
            found.add(token)
    return found


# A model or product name followed by its version number: "Ernie 5.0", "GPT-4.5", "Qwen 3", "文心5.0"
_NAMED_NUMBER = re.compile(
    r"(?:(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]*)[- ]?|([\u3400-\u4dbf\u4e00-\u9fff]{2,}) ?)"
    r"(\d{1,2}(?:\.\d{1,2})?)(?![\d%]|[.,]\d|[a-z]| ?[月日年亿万千百个款倍家名元位次天周小时分秒岁项台件条座]"
    r"| (?:percent|pct|[kmbt]n?|billion|million|thousand|trillion|times|st|nd|rd|th|years?|months?|weeks?|days?"
    r"|hours?|minutes?|gb|tb|nm|am|pm)\b)",
    re.IGNORECASE,
)


def _named_versions(text: str, names: set[str], language: str | None) -> tuple[set[str], str]:
    """Versions written as a name and a number ("Ernie 5.0" = "文心5.0" = "ernie5"), and ``text``
    with those numbers blanked (a version is not an amount). The name is a word of one of the
    title's model names (lexicon kinds ``*_model``; a weak alias such as "Ernie" counts in context,
    "GPT" stands for ChatGPT) or a Chinese model name the lexicon knows; the version is the canonical name and the number,
    lower-cased, without a trailing ".0"."""
    from services.classify.lexicon import default_lexicon
    from services.classify.scorer import lexicon_verdict

    entities = default_lexicon().entities
    models = {name for name in names if name in entities and entities[name].kind.name.endswith("_model")}
    found: set[str] = set()
    blanked = text
    for m in _NAMED_NUMBER.finditer(text):
        number = m.group(3)
        if number.endswith(".0"):
            number = number[:-2]
        word = m.group(1)
        stem: str | None = None
        if word is not None:
            lowered = word.lower()
            for model in sorted(models):
                words = re.split(r"[^a-z0-9]+", model.lower())
                if lowered in words or (len(lowered) >= 3 and any(w.endswith(lowered) for w in words)):
                    stem = re.sub(r"[^a-z0-9]+", "", model.lower())  # "GPT-4.5", "ChatGPT-4.5": ChatGPT
                    break
        else:
            run = m.group(2)
            for size in range(min(len(run), 6), 1, -1):
                found_models = [
                    e
                    for e in lexicon_verdict(run[-size:], "", language or "", None).entities
                    if e in entities and entities[e].kind.name.endswith("_model")
                ]
                if found_models:
                    stem = re.sub(r"[^a-z0-9]+", "", found_models[0].lower())
                    break
        if stem:
            found.add(f"{stem}{number}")
            start, end = m.span(3)
            blanked = blanked[:start] + " " * (end - start) + blanked[end:]
    return found, blanked


_AI_WORD = re.compile(r"(?<![A-Za-z0-9])AI(?![A-Za-z0-9]) ?", re.IGNORECASE)
_SPACE_BY_HAN = re.compile("(?<=[\u3400-\u4dbf\u4e00-\u9fff]) +| +(?=[\u3400-\u4dbf\u4e00-\u9fff])")


def _names(catalogue: NameCatalogue, text: str, names: set[str], subjects: set[str]) -> None:
    """Catalogue names and subjects of ``text``. Subjects are looked for again without the word "AI"
    and without spaces beside Chinese characters: "in-house AI chips" and "自研 AI 芯片" are "in-house chip"."""
    _find_names(catalogue, text, names, subjects)
    plain = _SPACE_BY_HAN.sub("", _AI_WORD.sub("", text))
    if plain != text:
        _find_names(catalogue, plain, set(), subjects)


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index] in _ASCII_WORD


_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def english_aliases(catalogue: NameCatalogue, text: str) -> list[str]:
    """The English aliases in ``text``, as ``catalogue.english.finditer`` finds them (whole words, any case,
    an optional plural "s", leftmost and then longest, not overlapping), in one automaton pass."""
    lowered = text.lower()
    if catalogue.english_automaton is None or len(lowered) != len(text):  # a letter whose lower case is longer
        return [m.group(1).lower() for m in catalogue.english.finditer(text)]
    longest: dict[int, tuple[int, int]] = {}  # start -> (alias length, match end)
    for last, alias in catalogue.english_automaton.iter(lowered):
        start, end = last + 1 - len(alias), last + 1
        if _word_char(text, start - 1):
            continue
        if lowered[end : end + 1] == "s" and not _word_char(text, end + 1):
            stop = end + 1  # the plural, as the pattern's greedy "s?" takes it
        elif not _word_char(text, end):
            stop = end
        else:
            continue
        if start not in longest or longest[start][0] < len(alias):
            longest[start] = (len(alias), stop)
    found: list[str] = []
    position = 0
    for start in sorted(longest):
        if start >= position:
            length, position = longest[start]
            found.append(lowered[start : start + length])
    return found


def _find_names(catalogue: NameCatalogue, text: str, names: set[str], subjects: set[str]) -> None:
    for alias in english_aliases(catalogue, text):
        canonical = catalogue.english_name[alias]
        (names if catalogue.kind_of[canonical] == "name" else subjects).add(canonical)
    if catalogue.cased is not None:
        for m in catalogue.cased.finditer(text):
            canonical = catalogue.english_name[m.group(1).lower()]
            (names if catalogue.kind_of[canonical] == "name" else subjects).add(canonical)
    if not text.isascii() and catalogue.chinese_automaton is not None:
        for _end, (_alias, canonical, kind) in catalogue.chinese_automaton.iter(text):
            (names if kind == "name" else subjects).add(canonical)


_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


_MARK_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])")
_CAMEL = re.compile(r"[a-z][A-Z]|^[A-Z]{3,}$")
# Capitalised words that are not names: common terms, acronyms and units.
_NOT_MARKS = frozenset(
    """agi api app apps ceo cfo coo cto cpu gpu npu tpu ipo etf esg llm llms usd rmb hkd cny eur sdk
    ssd pdf usb ota new the and for with via ceo vlm mllm aigc asic dram hbm nand pcie saas paas iaas
    agent agents token tokens prompt pro max plus ultra mini lite nano beta chat bot bots model models
    cloud open source code data news video demo test benchmark robot robots chip chips phone pad book
    online live world top best one app store weekly daily breaking update review report exclusive
    gmv gdp cpi pmi ppi kpi roi faq diy ugc pgc b2b b2c o2o""".split()
)


def _marks(catalogue: NameCatalogue, title: str, language: str | None, names: set[str]) -> set[str]:
    """Name-shaped Latin words of ``title`` that no catalogue knows (see ``EventKeys.marks``);
    ``names``: the title's catalogue names (a weak alias such as "Gemini" counts in context)."""
    from services.classify.scorer import lexicon_verdict

    named = {w for name in names for w in re.split(r"[^a-z0-9]+", name.lower())}
    letters = [c for c in title if c.isascii() and c.isalpha()]
    shouting = sum(c.isupper() for c in letters) > 0.6 * len(letters)  # an all-capitals headline
    found: set[str] = set()
    for m in _MARK_WORD.finditer(title):
        word = m.group(0)
        if title[m.start() - 1 : m.start()] in ("(", "（") or re.match(r"[- ]?\d", title[m.end() : m.end() + 2]):
            continue  # a ticker ("(BIDU)") or a model family with its version ("GPT-5": versions compare those)
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        lowered = word.lower()
        if lowered in _NOT_MARKS or lowered in named or not _CAMEL.search(word) or (shouting and word.isupper()):
            continue
        if catalogue.english.fullmatch(word) or (catalogue.cased is not None and catalogue.cased.fullmatch(word)):
            continue
        if lexicon_verdict(word, "", language or "", None).entities:
            continue
        found.add(lowered)
    return found


def event_keys(title: str, summary: str = "", language: str | None = None, link: str | None = None) -> EventKeys:
    """The event keys of an article (title and summary lead)."""
    from services.classify.scorer import lexicon_verdict

    lead = summary[:LEAD_CHARS]
    folded_title = fold(title)[0]
    folded_lead = fold(lead)[0]
    keys = EventKeys()
    catalogue = name_catalogue()
    keys.title_names.update(lexicon_verdict(title, "", language or "", None).entities)
    _names(catalogue, folded_title, keys.title_names, keys.title_subjects)
    verdict = lexicon_verdict(title, lead, language or "", None)
    keys.names.update(keys.title_names, verdict.entities)
    keys.subjects.update(f"topic:{topic}" for topic in verdict.topics)
    keys.subjects.update(keys.title_subjects)
    _names(catalogue, folded_lead, keys.names, keys.subjects)
    title_named, folded_title = _named_versions(folded_title, keys.title_names, language)
    lead_named, folded_lead = _named_versions(folded_lead, keys.names, language)
    keys.title_numbers, keys.title_dates = _numbers(folded_title)
    lead_numbers, lead_dates = _numbers(folded_lead)
    keys.numbers = keys.title_numbers | lead_numbers
    keys.dates = keys.title_dates | lead_dates
    keys.quoted = {q.strip().lower() for q in _QUOTED.findall(folded_title)} - _NOT_QUOTED
    keys.title_words = {w.lower() for w in _LATIN_WORD.findall(folded_title)}
    keys.marks = _marks(catalogue, folded_title, language, keys.title_names)
    keys.title_grams = {run[i : i + 2] for run in _HAN_RUN.findall(folded_title) for i in range(len(run) - 1)}
    keys.title_versions = _versions(folded_title.lower()) | title_named
    keys.versions = keys.title_versions | _versions(folded_lead.lower()) | lead_named
    return keys
