"""The evaluation harness: scoring (paper protocol vs final), aggregation, the agent over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster_r1.backends import OpenAICompatBackend, ScriptedBackend
from cluster_r1.backends.cached import CachedBackend
from cluster_r1.bench.splits import Example, write_jsonl
from cluster_r1.errors import ConfigError, InputError
from cluster_r1.evaluation import (
    AgentMethod,
    Outcome,
    aggregate,
    evaluate,
    evaluate_methods,
    load_examples,
    make_method,
    parse_splits,
    score_outcome,
    splits_markdown,
    table_markdown,
)
from cluster_r1.types import Clustering
from fake_openai import FakeOpenAIServer, answer


def example(i: int, labels: list[str], *, split: str = "c1", corpus: str = "goalex") -> Example:
    texts = [f"text {i}-{j} about {lab}" for j, lab in enumerate(labels)]
    return Example(f"{split}-t-{i:04d}", split, "t", corpus, "by topic", texts, labels)


def gold_answer(ex: Example, *, names: bool = True) -> str:
    groups: dict[str, list[int]] = {}
    for j, lab in enumerate(ex.labels, start=1):
        groups.setdefault(lab, []).append(j)
    return answer(list(groups.values()), list(groups) if names else None)


EX1 = example(1, ["a", "b", "a", "b", "c", "c"])
EX2 = example(2, ["x", "y", "x", "y"])


def test_score_invalid_first_answer_is_zero_in_the_paper_column() -> None:
    bad = gold_answer(EX1).replace("[5, 6]", "[5, 5, 6]")  # a duplicate: App. D format error
    final = Clustering.from_labels(EX1.labels)
    rec = score_outcome("m", EX1, Outcome(final, raw_answers=[bad, gold_answer(EX1)], answer_names=True), 1.0)
    assert rec["format_valid"] is False and rec["violations"] == ["duplicate"]
    assert rec["v_paper"] == 0.0 and rec["k_pred_paper"] == 0 and rec["count_correct_paper"] is False
    assert rec["v"] == pytest.approx(1.0) and rec["k_pred"] == 3 and rec["count_correct"] is True
    ok = score_outcome("m", EX1, Outcome(final, raw_answers=[gold_answer(EX1)], answer_names=True), 1.0)
    assert ok["format_valid"] is True and ok["v_paper"] == pytest.approx(1.0)


def test_named_lines_are_invalid_under_the_paper_prompt() -> None:
    final = Clustering.from_labels(EX1.labels)
    rec = score_outcome("m", EX1, Outcome(final, raw_answers=[gold_answer(EX1)], answer_names=False), 0.0)
    assert rec["format_valid"] is False and rec["v_paper"] == 0.0 and "syntax" in rec["violations"]


def test_error_scores_zero_and_keeps_the_reason() -> None:
    rec = score_outcome("m", EX2, Outcome(None, raw_answers=[], error="AnswerError: nothing usable"), 0.5)
    assert rec["v"] == 0.0 and rec["v_paper"] == 0.0 and rec["format_valid"] is False
    assert rec["error"].startswith("AnswerError") and rec["violations"] == ["no_answer"]
    assert rec["count_error"] == 2 and rec["labels_pred"] is None


def test_plain_method_has_no_format_column_and_same_v() -> None:
    rec = score_outcome("m", EX2, Outcome(Clustering.from_labels([1, 1, 2, 2])), 0.0)
    assert rec["format_valid"] is None and rec["v_paper"] == rec["v"] and 0.0 <= rec["v"] < 0.1


def _record(method: str, corpus: str, split: str, v: float) -> dict[str, object]:
    rec = score_outcome(method, example(0, ["a", "b"], split=split, corpus=corpus),
                        Outcome(Clustering.from_labels([1, 2])), 0.0)
    return {**rec, "v": v, "v_paper": v}


def test_aggregate_avg_is_mean_over_sources_overall_over_examples() -> None:
    recs = [_record("m", "a", "c0", 1.0), _record("m", "a", "c0", 1.0), _record("m", "a", "c0", 1.0),
            _record("m", "b", "c0", 0.0), _record("m", "b", "c2", 0.5)]
    row = aggregate(recs)["rows"][0]
    assert row["cells"]["a/c0"] == {"v": 1.0, "n": 3}
    assert row["avg"] == {"c0": 0.5, "c2": 0.5}  # (1.0 + 0.0) / 2, not 3/4
    assert row["overall"] == pytest.approx(3.5 / 5)
    md = table_markdown(aggregate(recs))
    assert "| Method | a C0 | b C0 | b C2 | AVG C0 | AVG C2 | OVERALL |" in md
    assert "| m | 100.00 | 0.00 | 50.00 | 50.00 | 50.00 | 70.00 |" in md
    assert "| m | 50.00 | 50.00 | 70.00 | 5 |" in splits_markdown(aggregate(recs))


class _Boom:
    name = "boom"

    def cluster(self, example: Example) -> Clustering:
        raise RuntimeError("kaput")


def test_runner_keeps_order_and_survives_a_failing_method() -> None:
    class Gold:
        name = "gold"

        def cluster(self, example: Example) -> Clustering:
            return example.gold()

    exs = [example(i, ["a", "b", "a", "b"]) for i in range(6)]
    recs = evaluate_methods([Gold(), _Boom()], exs, concurrency=3)
    assert [(r["method"], r["example_id"]) for r in recs] == [(m, e.id) for m in ("gold", "boom") for e in exs]
    assert all(r["v"] == pytest.approx(1.0) for r in recs[:6])
    assert all(r["v"] == 0.0 and "kaput" in r["error"] for r in recs[6:])
    with pytest.raises(ValueError, match="share a name"):
        evaluate_methods([Gold(), Gold()], exs)


def test_agent_over_http_paper_column_format_accuracy_and_cache(tmp_path: Path) -> None:
    malformed = gold_answer(EX1).replace("[5, 6]", "[5]")  # item 6 missing: invalid, content incomplete
    no_tags = gold_answer(EX2).split("<answer>")[1].replace("</answer>", "")  # complete partition, no tags
    db = tmp_path / "responses.sqlite"
    with FakeOpenAIServer() as server:
        server.enqueue(malformed, gold_answer(EX1), no_tags)
        backend = OpenAICompatBackend(base_url=server.base_url, model="local", max_retries=0, backoff=0.0)
        method = make_method("agent", backend=CachedBackend(backend, db), agent_options={"max_reasks": 1})
        results = evaluate([method], [EX1, EX2], concurrency=1)
        assert len(server.requests) == 3
        url = server.base_url
    r1, r2 = results["records"]
    # EX1: first answer invalid -> 0 in the paper column; the re-ask gives a perfect final answer.
    assert (r1["format_valid"], r1["v_paper"], r1["attempts"], r1["calls"]) == (False, 0.0, 2, 2)
    assert r1["v"] == pytest.approx(1.0) and r1["violations"] == ["missing"]
    # EX2: tags missing -> invalid for the paper, repaired (no re-ask) by the agent.
    assert (r2["format_valid"], r2["v_paper"], r2["repaired"], r2["calls"]) == (False, 0.0, True, 1)
    assert r2["v"] == pytest.approx(1.0) and "tags" in r2["violations"]
    summary = results["aggregates"]["summary"]["agent (local)"]
    assert summary["format_accuracy"] == 0.0 and summary["v_paper"] == 0.0 and summary["v"] == pytest.approx(1.0)
    assert [row["kind"] for row in results["aggregates"]["rows"]] == ["paper", "final"]
    assert results["response_cache"]["agent (local)"]["misses"] == 3
    # Rerun against the stopped server: every reply comes from the cache, zero HTTP requests.
    dead = OpenAICompatBackend(base_url=url, model="local", max_retries=0, backoff=0.0, timeout=2.0)
    rerun = evaluate([make_method("agent", backend=CachedBackend(dead, db), agent_options={"max_reasks": 1})],
                     [EX1, EX2])
    strip = ("seconds", "model_seconds")
    assert [{k: v for k, v in r.items() if k not in strip} for r in rerun["records"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in results["records"]]
    assert rerun["response_cache"]["agent (local)"] == {"path": str(db), "hits": 3, "misses": 0}


def test_agent_valid_first_answer_scores_the_same_in_both_columns() -> None:
    method = AgentMethod(ScriptedBackend([gold_answer(EX1, names=False)]), prompt="paper")
    assert method.names is False
    rec = evaluate_methods([method], [EX1])[0]
    assert rec["format_valid"] is True and rec["v_paper"] == pytest.approx(1.0) == rec["v"]


def test_agent_method_rejects_self_consistency_and_missing_backend() -> None:
    with pytest.raises(ConfigError, match="samples=1"):
        AgentMethod(ScriptedBackend(), samples=3)
    with pytest.raises(ConfigError, match="model server"):
        make_method("agent")
    with pytest.raises(ConfigError, match="unknown method"):
        make_method("dbscan")


def test_load_examples_filters_and_seeded_limit(tmp_path: Path) -> None:
    write_jsonl([example(i, ["a", "b"], split="c1") for i in range(10)], tmp_path / "c1.jsonl")
    write_jsonl([example(i, ["a", "b"], split="c0") for i in range(3)], tmp_path / "c0.jsonl")
    assert len(load_examples(tmp_path, ["c0", "c1"])) == 13
    a = [e.id for e in load_examples(tmp_path, ["c1"], limit=4, seed=3)]
    assert a == [e.id for e in load_examples(tmp_path, ["c1"], limit=4, seed=3)] and len(a) == 4
    assert a == sorted(a)  # file order kept
    assert a != [e.id for e in load_examples(tmp_path, ["c1"], limit=4, seed=4)]
    with pytest.raises(InputError, match="bench build"):
        load_examples(tmp_path, ["c2"])
    with pytest.raises(InputError, match="no examples"):
        load_examples(tmp_path, ["c1"], tasks=["nope"])
    assert parse_splits("C0,c1, C1") == ["c0", "c1"]
    with pytest.raises(InputError):
        parse_splits("C3")


def test_assist_method_scores_the_models_categories() -> None:
    ex = example(7, ["poem", "rap", "poem", "rap"])
    backend = ScriptedBackend(["- Poem: verse\n- Rap: beats", "1", "2", "1", "2"])
    method = make_method("assist", backend=backend)
    rec = evaluate_methods([method], [ex])[0]
    assert rec["v"] == pytest.approx(1.0) and rec["k_pred"] == 2
    assert "assist=categories" in method.name
    with pytest.raises(ConfigError, match="model server"):
        make_method("assist")
