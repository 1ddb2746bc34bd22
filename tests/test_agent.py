"""The agent's logic over a scripted backend (unit tests; evidence of real use is the llm-marked test)."""

from __future__ import annotations

import pytest

from cluster_r1.agent import UNPLACED, ClusteringAgent
from cluster_r1.backends import ScriptedBackend
from cluster_r1.errors import AnswerError, ContextLengthError, InputError
from fake_openai import answer

TEXTS = ["refund please", "cannot log in", "charged twice", "password reset", "refund not received"]


def covers_every_text_once(result, n: int) -> bool:
    items = sorted(i for c in result.clusters for i in c.items)
    return items == list(range(1, n + 1)) and len(result.labels) == n


def test_valid_first_answer() -> None:
    backend = ScriptedBackend([answer([[1, 3, 5], [2, 4]], ["Billing", "Login"])])
    result = ClusteringAgent(backend).cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1]
    assert [c.name for c in result.clusters] == ["Billing", "Login"]
    assert (result.attempts, result.repaired, result.salvaged) == (1, False, False)
    assert result.usage.calls == 1 and result.usage.completion_tokens > 0
    prompt = backend.history[0][0]["content"]
    assert "Instruction: by issue" in prompt and '<text id="5">\nrefund not received\n</text>' in prompt


def test_reask_names_the_exact_violations() -> None:
    backend = ScriptedBackend(
        [
            answer([[1, 3], [2, 3]], ["Billing", "Login"]),  # 3 twice, 4 and 5 missing
            answer([[1, 3, 5], [2, 4]], ["Billing", "Login"]),
        ]
    )
    result = ClusteringAgent(backend).cluster(TEXTS, "by issue")
    assert result.attempts == 2 and result.repaired and not result.salvaged
    reask = backend.history[1][-1]["content"]
    assert "items 4-5 are missing" in reask
    assert "items 3 appear in more than one place" in reask
    assert backend.history[1][-2]["role"] == "assistant"


def test_complete_answer_with_format_slip_is_accepted_as_repaired() -> None:
    slip = "Total clusters: 2\nCluster 1 (Billing): 1, 3, 5\nCluster 2 (Login): 2, 4"
    result = ClusteringAgent(ScriptedBackend([slip])).cluster(TEXTS, "by issue")
    assert result.repaired and result.attempts == 1
    assert result.labels == [1, 2, 1, 2, 1]
    assert any("format repaired" in n for n in result.notes)


def test_strict_mode_reasks_on_format_slip() -> None:
    slip = "Total clusters: 2\ncluster1 (Billing): [1, 3, 5]\ncluster2 (Login): [2, 4]"
    backend = ScriptedBackend([slip, answer([[1, 3, 5], [2, 4]], ["B", "L"])])
    result = ClusteringAgent(backend, strict=True).cluster(TEXTS, "by issue")
    assert result.attempts == 2
    assert "<think>" in backend.history[1][-1]["content"]


def test_salvage_places_missing_and_duplicated_items_by_follow_up() -> None:
    bad = answer([[1, 3], [2, 3]], ["Billing", "Login"])
    backend = ScriptedBackend([bad, bad, bad, "3: cluster1\n4: cluster2\n5: cluster1"])
    result = ClusteringAgent(backend, max_reasks=2).cluster(TEXTS, "by issue")
    assert result.salvaged and covers_every_text_once(result, 5)
    assert result.labels == [1, 2, 1, 2, 1]
    follow_up = backend.history[3][0]["content"]
    assert "cluster1 (Billing)" in follow_up and '<text id="4">\npassword reset\n</text>' in follow_up
    assert '<text id="1">' not in follow_up  # only the leftovers are asked about
    assert any("placed by a follow-up" in n for n in result.notes)


def test_salvage_never_drops_a_text_the_model_will_not_place() -> None:
    bad = answer([[1, 3], [2]], ["Billing", "Login"])
    backend = ScriptedBackend([bad, "I am not sure.", "no idea", "hmm"])
    result = ClusteringAgent(backend, max_reasks=0).cluster(TEXTS, "by issue")
    assert covers_every_text_once(result, 5)
    assert result.clusters[-1].name == UNPLACED and result.clusters[-1].items == [4, 5]
    assert result.usage.calls == 4


def test_salvage_asks_one_short_question_per_item_the_batch_missed() -> None:
    bad = answer([[1, 3], [2]], ["Billing", "Login"])
    backend = ScriptedBackend([bad, "4: cluster2\n5: maybe", "Billing"])
    result = ClusteringAgent(backend, max_reasks=0).cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1]
    single = backend.history[2][0]["content"]
    assert "<text>\nrefund not received\n</text>" in single and "number only (1 to 2)" in single
    assert backend.kwargs[2]["max_tokens"] == 10


def test_a_single_usable_cluster_is_not_an_answer_groups_are_proposed() -> None:
    one = answer([[1]], ["Billing"])
    backend = ScriptedBackend([one, "group1: Billing\ngroup2: Login", "", "1", "2", "1", "2", "1"])
    result = ClusteringAgent(backend, max_reasks=0).cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1]
    assert all(c.name != UNPLACED for c in result.clusters)


def test_no_salvage_raises_with_every_attempt() -> None:
    backend = ScriptedBackend(["nonsense", "still nonsense"])
    with pytest.raises(AnswerError) as info:
        ClusteringAgent(backend, max_reasks=1, salvage=False).cluster(TEXTS, "by issue")
    assert info.value.attempts == ["nonsense", "still nonsense"]


def test_nothing_usable_raises() -> None:
    with pytest.raises(AnswerError, match="no usable cluster.*proposed no groups"):
        ClusteringAgent(ScriptedBackend(["?", "?", "I don't know", "no"]), max_reasks=1).cluster(TEXTS, "x")


def test_nothing_usable_falls_back_to_propose_then_place() -> None:
    backend = ScriptedBackend(["?", "group1: Billing\ngroup2: **Login**", "1: cluster1\n2: cluster2", "1", "2", "1"])
    result = ClusteringAgent(backend, max_reasks=0).cluster(TEXTS, "by issue")
    assert [c.name for c in result.clusters] == ["Billing", "Login"]
    assert result.labels == [1, 2, 1, 2, 1] and result.salvaged
    assert "Name between 2 and 2 groups" in backend.history[1][0]["content"]
    assert any("proposed 2 groups" in n for n in result.notes)


def test_empty_clusters_are_dropped_and_noted() -> None:
    text = "<think>t</think><answer>Total clusters: 3\ncluster1: [1, 3, 5]\ncluster2: []\ncluster3: [2, 4]</answer>"
    result = ClusteringAgent(ScriptedBackend([text]), prompt="paper").cluster(TEXTS, "x")
    assert result.n_clusters == 2 and result.labels == [1, 2, 1, 2, 1]
    assert any("empty" in n for n in result.notes)


def test_n_clusters_hint_is_in_the_prompt() -> None:
    backend = ScriptedBackend([answer([[1, 3, 5], [2, 4]])])
    ClusteringAgent(backend, prompt="paper").cluster(TEXTS, "x", n_clusters=2)
    assert "Use exactly 2 clusters." in backend.history[0][0]["content"]


def test_self_consistency_consensus_and_stability() -> None:
    a = answer([[1, 3, 5], [2, 4]], ["Billing", "Login"])
    b = answer([[1, 3], [2, 4, 5]], ["Billing", "Login"])
    backend = ScriptedBackend([a, a, b])
    result = ClusteringAgent(backend, samples=3).cluster(TEXTS, "x")
    assert result.labels == [1, 2, 1, 2, 1]  # majority co-assignment
    assert 0 < result.stability < 1
    assert result.usage.calls == 3
    assert [k["temperature"] for k in backend.kwargs] == [0.8, 0.8, 0.8]
    assert sorted(k["seed"] for k in backend.kwargs) == [0, 1, 2]


def test_context_window_is_checked_before_calling() -> None:
    backend = ScriptedBackend([], context_window=1000)
    with pytest.raises(ContextLengthError, match="1000-token context"):
        ClusteringAgent(backend, max_tokens=900).cluster(TEXTS * 20, "x")
    assert backend.history == []


@pytest.mark.parametrize("texts,instruction,match", [(["one"], "x", "at least 2"), (TEXTS, "  ", "instruction")])
def test_bad_input(texts, instruction, match) -> None:
    with pytest.raises(InputError, match=match):
        ClusteringAgent(ScriptedBackend()).cluster(texts, instruction)


def items_reply(total: int, names: list[str], placements: list[int]) -> str:
    """A reply in the constrained items form: names first, then one ``ITEM: clusterK`` line per item."""
    lines = [f"Total clusters: {total}"] + [f"cluster{k} ({n})" for k, n in enumerate(names, start=1)]
    lines += [f"{i}: cluster{k}" for i, k in enumerate(placements, start=1)]
    return "<think>three kinds of issue</think>\n<answer>\n" + "\n".join(lines) + "\n</answer>"


def test_a_hollow_named_answer_has_every_text_placed_into_its_named_clusters() -> None:
    # the model names three clusters, then writes cluster1 down the whole list
    backend = ScriptedBackend([
        items_reply(3, ["Billing", "Login", "Other"], [1, 1, 1, 1, 1]),
        "1: cluster1\n2: cluster2\n3: cluster1\n4: cluster2\n5: cluster1",
    ], constraint_kinds=("grammar",))
    result = ClusteringAgent(backend).cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1] and [c.name for c in result.clusters] == ["Billing", "Login"]
    assert result.salvaged and len(backend.history) == 2
    placing = backend.history[1][-1]["content"]
    assert "cluster1 (Billing)" in placing and "cluster3 (Other)" in placing and '<text id="5">' in placing
    assert any("left clusters 2, 3 empty" in n for n in result.notes)


def test_a_hollow_unnamed_answer_goes_back_once_and_the_next_one_wins() -> None:
    backend = ScriptedBackend([answer([[1, 2, 3, 4, 5], [], []]), answer([[1, 3, 5], [2, 4]])])
    result = ClusteringAgent(backend, prompt="paper").cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1] and result.attempts == 2 and not result.salvaged
    assert "you declared 3 clusters but cluster2, cluster3 have no items" in backend.history[1][-1]["content"]


def test_a_hollow_answer_is_kept_when_the_re_asks_give_nothing_better() -> None:
    backend = ScriptedBackend([answer([[1, 2, 3, 4, 5], [], []]), "no idea", "still no idea"])
    result = ClusteringAgent(backend, prompt="paper", max_reasks=2, salvage=False).cluster(TEXTS, "by issue")
    assert covers_every_text_once(result, 5) and result.n_clusters == 1
    assert result.attempts == 3
    assert any("left clusters 2, 3 empty after 3 attempts" in n for n in result.notes)


def test_one_empty_cluster_of_three_is_not_hollow() -> None:
    backend = ScriptedBackend([answer([[1, 3, 5], [2, 4], []], ["Billing", "Login", "Other"])])
    result = ClusteringAgent(backend).cluster(TEXTS, "by issue")
    assert result.attempts == 1 and result.labels == [1, 2, 1, 2, 1]
    assert len(backend.history) == 1


def test_without_re_asks_a_hollow_answer_is_the_answer() -> None:
    backend = ScriptedBackend([answer([[1, 2, 3, 4, 5], []])])
    result = ClusteringAgent(backend, prompt="paper", max_reasks=0).cluster(TEXTS, "by issue")
    assert result.n_clusters == 1 and result.attempts == 1 and len(backend.history) == 1


def test_without_salvage_a_hollow_named_answer_stands_with_a_note() -> None:
    backend = ScriptedBackend([answer([[1, 2, 3, 4, 5], []], ["All", "None"])])
    result = ClusteringAgent(backend, salvage=False).cluster(TEXTS, "by issue")
    assert result.n_clusters == 1 and len(backend.history) == 1
    assert any("left clusters 2 empty" in n for n in result.notes)


def test_a_hollow_placement_of_a_hollow_answer_asks_about_each_text_alone() -> None:
    backend = ScriptedBackend([
        items_reply(2, ["Billing", "Login"], [1, 1, 1, 1, 1]),
        "1: cluster1\n2: cluster1\n3: cluster1\n4: cluster1\n5: cluster1",  # the batch collapses too
        "1", "2", "1", "2", "1",  # one short question per text
    ], constraint_kinds=("grammar", "choice"))
    result = ClusteringAgent(backend).cluster(TEXTS, "by issue")
    assert result.labels == [1, 2, 1, 2, 1] and len(backend.history) == 7
    assert any("asked about alone" in n for n in result.notes)
