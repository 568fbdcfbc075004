"""canonical_url on arbitrary and URL-shaped input: never raises, idempotent, http(s) only, no tracking, no fragment."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ingest.normalise import TRACKING_PARAMS, canonical_url

SETTINGS = settings(max_examples=200, deadline=None)

schemes = st.sampled_from(["http", "https", "HTTP", "HtTpS", "ftp", "javascript", "data", "file", "mailto", ""])
hosts = st.one_of(
    st.from_regex(r"[a-zA-Z0-9-]{1,20}(\.[a-zA-Z0-9-]{1,20}){0,3}\.?", fullmatch=True),
    st.sampled_from(["127.0.0.1", "[::1]", "EXAMPLE.com", "xn--fiqs8s.cn", "例子.中国", "user:pw@example.com", ""]),
)
ports = st.one_of(
    st.just(""), st.integers(0, 70000).map(lambda p: f":{p}"), st.sampled_from([":", ":abc", ":80", ":443"])
)
paths = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40).map(lambda t: "/" + t)
param_names = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.from_regex(r"utm_[a-z]{1,8}", fullmatch=True),
    st.sampled_from(["UTM_Source", "id", "p", "page", "q"]),
    st.text(max_size=8),
)
queries = st.lists(st.tuples(param_names, st.text(max_size=12)), max_size=5).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
fragments = st.one_of(st.just(""), st.text(max_size=12).map(lambda t: "#" + t))


@st.composite
def urlish(draw: st.DrawFn) -> str:
    query = draw(queries)
    return f"{draw(schemes)}://{draw(hosts)}{draw(ports)}{draw(paths)}{'?' + query if query else ''}{draw(fragments)}"


any_text = st.one_of(st.text(max_size=200), urlish(), st.binary(max_size=60).map(lambda b: b.decode("latin-1")))


@SETTINGS
@given(any_text)
@example("http://[::1")
@example("https://example.com:99999/")
@example("http://example.com/\x00#x")
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = canonical_url(text)
    assert once is None or canonical_url(once) == once


@SETTINGS
@given(any_text)
def test_output_is_http_or_https_with_a_host_and_no_fragment(text: str) -> None:
    out = canonical_url(text)
    if out is None:
        return
    parts = urlsplit(out)
    assert parts.scheme in {"http", "https"}
    assert parts.hostname
    assert parts.fragment == "" and "#" not in out
    assert out == out.strip()


@SETTINGS
@given(urlish())
def test_tracking_parameters_are_gone(text: str) -> None:
    out = canonical_url(text)
    if out is None:
        return
    for name, _ in parse_qsl(urlsplit(out).query, keep_blank_values=True):
        assert not name.lower().startswith("utm_"), out
        assert name.lower() not in TRACKING_PARAMS, out


@SETTINGS
@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z]{1,10}\.example", fullmatch=True),
    st.from_regex(r"(/[a-z0-9]{1,8}){0,3}", fullmatch=True),
)
def test_variants_of_one_article_link_agree(scheme: str, host: str, path: str) -> None:
    plain = canonical_url(f"{scheme}://{host}{path}?id=7")
    assert plain is not None
    assert canonical_url(f"{scheme.upper()}://{host.upper()}{path}?id=7&utm_source=rss#comments") == plain
    assert canonical_url(f"  {scheme}://{host}{path}?utm_medium=x&id=7&fbclid=abc ") == plain
