"""The classification contract: `cnai classify` reads JSON Lines and writes one verdict line per record."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.classify.contract import classify_stream

REPO_ROOT = Path(__file__).resolve().parents[2]
CNAI = Path(sys.executable).parent / "cnai"
VERDICT_KEYS = {"id", "relevant", "score", "topics", "entities", "reasons"}

LINES = [
    json.dumps(
        {
            "id": "a",
            "title": "DeepSeek releases a new reasoning model",
            "summary": "The Hangzhou lab's R2 beats rivals.",
        }
    ),
    "this is not json",
    json.dumps({"id": 7, "title": "Bayern win the cup", "summary": "A football story."}),
    json.dumps(["an", "array"]),
    json.dumps({"id": "no-title", "summary": "x"}),
    json.dumps({"id": "bad-title", "title": 12}),
    json.dumps({"id": "bad-summary", "title": "t", "summary": ["x"]}),
    "   ",
    json.dumps(
        {
            "id": "c",
            "title": "国家网信办发布生成式人工智能服务备案信息",
            "lang": "zh",
            "link": "https://www.cac.gov.cn/x",
        },
        ensure_ascii=False,
    ),
    json.dumps({"title": "无编号：百度发布文心大模型5.0", "summary": None}, ensure_ascii=False),
]


def _run(lines: list[str], batch_size: int = 3) -> tuple[list[dict], object]:
    out = io.StringIO()
    stats = classify_stream((line + "\n" for line in lines), out, batch_size=batch_size)
    return [json.loads(line) for line in out.getvalue().splitlines()], stats


def test_one_line_per_record_in_input_order_with_error_lines() -> None:
    results, stats = _run(LINES)
    assert [r["id"] for r in results] == ["a", None, 7, None, "no-title", "bad-title", "bad-summary", "c", None]
    assert stats.records == 4 and stats.errors == 5 and stats.skipped_blank == 1  # type: ignore[attr-defined]
    good = [r for r in results if "error" not in r]
    # Relevant items gain "priority" (the issue-12 contract); irrelevant ones keep the old keys exactly.
    assert all(set(r) == (VERDICT_KEYS | {"priority"} if r["relevant"] else VERDICT_KEYS) for r in good)
    assert all(r["priority"] in ("high", "normal", "low") for r in good if r["relevant"])
    assert [r["relevant"] for r in good] == [True, False, True, True]
    assert all(0.0 <= r["score"] <= 1.0 for r in good)
    errors = {r["id"]: r["error"] for r in results if "error" in r}
    assert "invalid JSON" in results[1]["error"]
    assert errors["no-title"] == "line 5: missing title"  # errors name the input line (blank lines count)
    assert "title must be a string" in errors["bad-title"]
    assert "summary must be a string" in errors["bad-summary"]
    assert set(results[3]) == {"id", "error"} and "JSON object" in results[3]["error"]


def test_batch_size_does_not_change_the_output() -> None:
    assert _run(LINES, batch_size=1)[0] == _run(LINES, batch_size=1000)[0]


def test_output_is_flushed_per_batch() -> None:
    class Recorder(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Recorder.flushes += 1
            super().flush()

    out = Recorder()
    classify_stream((json.dumps({"id": n, "title": "t"}) + "\n" for n in range(10)), out, batch_size=4)
    assert Recorder.flushes == 3
    assert len(out.getvalue().splitlines()) == 10


def _cnai(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [str(CNAI)] if CNAI.exists() else [sys.executable, "-c", "from cli.main import cli; cli()"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, cwd=REPO_ROOT, timeout=60)


def test_cli_reads_a_file_and_writes_utf8_json_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    result = _cnai("classify", str(source))
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == 9
    assert '"国家网信办"' not in result.stdout.decode("utf-8")  # no echo of the input
    assert 'entity \\"Cyberspace Administration of China: 国家网信办\\"' in result.stdout.decode(
        "utf-8"
    )  # ensure_ascii=False
    assert json.loads(lines[0])["relevant"] is True


def test_cli_reads_stdin() -> None:
    payload = (json.dumps({"id": 1, "title": "智谱发布GLM-4.5"}, ensure_ascii=False) + "\n").encode("utf-8")
    result = _cnai("classify", stdin=payload)
    assert result.returncode == 0, result.stderr.decode()
    verdict = json.loads(result.stdout)
    assert verdict["id"] == 1 and verdict["relevant"] is True and "GLM" in verdict["entities"]


def test_cli_bad_lines_do_not_fail_the_run() -> None:
    result = _cnai("classify", stdin=b"{not json\n\xff\xfe garbage\n")
    assert result.returncode == 0
    assert [json.loads(line)["id"] for line in result.stdout.decode().splitlines()] == [None, None]


@pytest.mark.parametrize("target", ["missing.jsonl", "."])
def test_cli_unreadable_input_exits_non_zero(tmp_path: Path, target: str) -> None:
    result = _cnai("classify", str(tmp_path / target))
    assert result.returncode != 0
    assert result.stdout == b""
