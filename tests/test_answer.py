"""The parser/validator over a corpus of realistic answers, valid and malformed."""

from __future__ import annotations

import pytest

from cluster_r1.answer import (
    COUNT,
    DUPLICATE,
    MISSING,
    NO_CLUSTERS,
    OUT_OF_RANGE,
    SYNTAX,
    TAGS,
    TOTAL,
    describe_violations,
    parse_answer,
)

VALID = "<think>Two themes.</think>\n<answer>\nTotal clusters: 2\ncluster1: [1, 2, 5]\ncluster2: [3, 4]\n</answer>"

# (name, text, n_items, expected strict violation kinds, expected indices by kind)
MALFORMED = [
    ("missing think", "<answer>\nTotal clusters: 2\ncluster1: [1, 2, 5]\ncluster2: [3, 4]\n</answer>", 5, {TAGS}, {}),
    ("two think blocks", "<think>a</think><think>b</think>" + VALID[VALID.index("<answer>"):], 5, {TAGS}, {}),
    ("answer before think", "<answer>Total clusters: 1\ncluster1: [1]</answer><think>x</think>", 1, {TAGS}, {}),
    ("no answer tags", "<think>x</think>Total clusters: 2\ncluster1: [1, 2, 5]\ncluster2: [3, 4]", 5,
     {TAGS, TOTAL, NO_CLUSTERS, MISSING}, {MISSING: (1, 2, 3, 4, 5)}),
    ("total unparseable", VALID.replace("Total clusters: 2", "Total clusters: two"), 5, {TOTAL, SYNTAX}, {}),
    ("declared 3 listed 2", VALID.replace("Total clusters: 2", "Total clusters: 3"), 5, {COUNT}, {}),
    ("missing items", VALID.replace("[1, 2, 5]", "[1, 2]"), 5, {MISSING}, {MISSING: (5,)}),
    ("duplicate item", VALID.replace("[3, 4]", "[3, 4, 1]"), 5, {DUPLICATE}, {DUPLICATE: (1,)}),
    ("out of range", VALID.replace("[3, 4]", "[3, 4, 9]"), 5, {OUT_OF_RANGE}, {OUT_OF_RANGE: (9,)}),
    ("zero index", VALID.replace("[3, 4]", "[0, 3, 4]"), 5, {OUT_OF_RANGE}, {OUT_OF_RANGE: (0,)}),
    ("no brackets", VALID.replace("[1, 2, 5]", "1, 2, 5"), 5, {SYNTAX, COUNT, MISSING}, {MISSING: (1, 2, 5)}),
    ("range syntax", VALID.replace("[1, 2, 5]", "[1-2, 5]"), 5, {SYNTAX, MISSING}, {}),
    ("capitalised cluster", VALID.replace("cluster1", "Cluster 1"), 5, {SYNTAX, COUNT, MISSING}, {}),
    ("names without names mode", VALID.replace("cluster1:", "cluster1 (A):"), 5, {SYNTAX, COUNT, MISSING}, {}),
    ("prose inside answer", VALID.replace("Total clusters: 2", "Here you go.\nTotal clusters: 2"), 5, {SYNTAX}, {}),
    ("empty output", "", 3, {TAGS, TOTAL, NO_CLUSTERS, MISSING}, {MISSING: (1, 2, 3)}),
    ("truncated", VALID[:60], 5, {TAGS, SYNTAX, NO_CLUSTERS, MISSING}, {}),
]


def test_valid_answer_has_no_violations() -> None:
    parsed = parse_answer(VALID, 5)
    assert parsed.valid
    assert parsed.total == 2
    assert [c.items for c in parsed.clusters] == [[1, 2, 5], [3, 4]]
    assert parsed.think == "Two themes."
    assert parsed.labels() == [1, 1, 2, 2, 1]


def test_bracketed_total_is_accepted() -> None:
    assert parse_answer(VALID.replace("Total clusters: 2", "Total clusters: [2]"), 5).valid


@pytest.mark.parametrize("name,text,n,kinds,indices", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_strict_reports_every_violation(name: str, text: str, n: int, kinds: set[str], indices: dict) -> None:
    parsed = parse_answer(text, n, strict=True)
    assert not parsed.valid
    assert parsed.kinds() == kinds
    for kind, expected in indices.items():
        assert tuple(parsed.indices_of(kind)) == expected


def test_named_clusters_strict_only_when_allowed() -> None:
    named = VALID.replace("cluster1:", "cluster1 (Billing errors):").replace("cluster2:", "cluster2 (Login):")
    assert not parse_answer(named, 5).valid
    parsed = parse_answer(named, 5, names=True)
    assert parsed.valid
    assert [c.name for c in parsed.clusters] == ["Billing errors", "Login"]


LENIENT = [
    ("no brackets", "<think>x</think><answer>Total clusters: 2\ncluster1: 1, 2, 5\ncluster2: 3, 4</answer>",
     [[1, 2, 5], [3, 4]], ["", ""]),
    ("ranges", "<answer>Total clusters: 2\ncluster1: [1-3]\ncluster2: [4 to 5]</answer>", [[1, 2, 3], [4, 5]], ["", ""]),
    ("casing and markdown", "Sure!\n**Total clusters: 2**\n- **Cluster 1**: [1, 2, 5]\n- **Cluster 2**: [3, 4]\nHope it helps.",
     [[1, 2, 5], [3, 4]], ["", ""]),
    ("names in parens", "Total clusters: 2\ncluster1 (Refunds): [1, 2, 5]\ncluster2 (Login): [3, 4]",
     [[1, 2, 5], [3, 4]], ["Refunds", "Login"]),
    ("names with dash", "Total clusters: 2\nCluster 1 - Refunds: [1, 2, 5]\nCluster 2 - Login: [3, 4]",
     [[1, 2, 5], [3, 4]], ["Refunds", "Login"]),
    ("prose after list", "Total clusters: 2\ncluster1: [1, 2, 5] these are refunds\ncluster2: [3, 4]",
     [[1, 2, 5], [3, 4]], ["", ""]),
    ("missing think, prose before", "Let me think. The texts fall into two groups.\nTotal clusters: 2\ncluster1: [1,2,5]\ncluster2: [3,4]",
     [[1, 2, 5], [3, 4]], ["", ""]),
    ("answer tag closed early", "<think>x</think>\n<answer>cluster1: [1, 2, 5]</answer>\nTotal clusters: 2\ncluster2: [3, 4]",
     [[1, 2, 5], [3, 4]], ["", ""]),
    ("underscore", "Total clusters: 2\ncluster_1: [1, 2, 5]\ncluster_2: [3, 4]", [[1, 2, 5], [3, 4]], ["", ""]),
]


@pytest.mark.parametrize("name,text,clusters,names", LENIENT, ids=[m[0] for m in LENIENT])
def test_lenient_recovers_real_model_output(name: str, text: str, clusters: list, names: list) -> None:
    parsed = parse_answer(text, 5, strict=False)
    assert [c.items for c in parsed.clusters] == clusters
    assert [c.name for c in parsed.clusters] == names
    assert not parsed.kinds() & {MISSING, DUPLICATE, OUT_OF_RANGE}
    assert not parse_answer(text, 5, strict=True).valid or name == "never"


def test_lenient_never_invents_an_assignment() -> None:
    text = "Total clusters: 2\ncluster1: [1, 2]\ncluster2: [2, 3, 7]"
    parsed = parse_answer(text, 5, strict=False)
    assert parsed.labels() == [1, 1, 2, None, None]  # 4 and 5 stay unplaced; 2 keeps its first cluster
    assert parsed.indices_of(MISSING) == [4, 5]
    assert parsed.indices_of(DUPLICATE) == [2]
    assert parsed.indices_of(OUT_OF_RANGE) == [7]


def test_lenient_reads_the_answer_after_think_not_the_reasoning() -> None:
    text = "<think>maybe cluster1: [1, 2, 3]? no.</think>\nTotal clusters: 2\ncluster1: [1]\ncluster2: [2, 3]"
    parsed = parse_answer(text, 3, strict=False)
    assert [c.items for c in parsed.clusters] == [[1], [2, 3]]


def test_violations_describe_indices_for_a_reask() -> None:
    parsed = parse_answer(VALID.replace("[1, 2, 5]", "[1, 1]").replace("[3, 4]", "[3]"), 5)
    text = describe_violations(parsed.violations)
    assert "items 2, 4-5 are missing" in text
    assert "items 1 appear in more than one place" in text


def test_n_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="n_items"):
        parse_answer(VALID, 0)


def test_a_comma_before_to_is_not_a_range() -> None:
    # "20, to 23" does not write 21 or 22: the lenient reader takes 20 and 23 and invents nothing
    parsed = parse_answer("<answer>Total clusters: 1\ncluster1: [1, 20,  to 23]</answer>", 30, strict=False)
    assert parsed.clusters[0].items == [1, 20, 23]
    assert parse_answer("<answer>Total clusters: 1\ncluster1: [20 to 23]</answer>", 30,
                        strict=False).clusters[0].items == [20, 21, 22, 23]
