"""Constraint builders: every grammar parses as GBNF, and admits exactly the replies it should."""

from __future__ import annotations

import pytest

from cluster_r1.answer import items_to_lists, parse_answer
from cluster_r1.constraints import (
    Choice,
    describe,
    fields,
    items_answer,
    lists_answer,
    name_lines,
    numbered_names,
    placements,
)
from gbnf import GBNFError, parse, to_regex


def test_the_reader_rejects_what_llama_cpp_rejects() -> None:
    for bad in ['root ::= ( "a" | ', 'root ::= "a', 'root ::= b', 'x ::= "a"', 'root ::= [^]', 'root ::= "a"{0,2500}',
                'root ::= "a"{3,1}', 'root ::= "\\q"']:
        with pytest.raises(GBNFError):
            parse(bad)
    assert to_regex('root ::= "a" b{1,2}\nb ::= [0-9]').fullmatch("a12")


@pytest.mark.parametrize("n,names,n_clusters,think", [(1, True, None, 1800), (2, False, None, 0), (15, True, None, 1800),
                                                       (15, False, 3, None), (60, True, None, 500), (150, False, None, 1800)])
def test_items_answer_admits_complete_partitions_only(n, names, n_clusters, think) -> None:
    g = items_answer(n, names=names, n_clusters=n_clusters, think_chars=think)
    rx = to_regex(g.gbnf)
    k = n_clusters or min(2, n)
    decl = "".join(f"cluster{j} (group {j})\n" for j in range(1, k + 1)) if names else ""
    body = "\n".join(f"{i}: cluster{(i % k) + 1}" for i in range(1, n + 1))
    thought = "" if think == 0 else "short"
    reply = f"<think>\n{thought}\n</think>\n<answer>\nTotal clusters: {k}\n{decl}{body}\n</answer>"
    assert rx.fullmatch(reply)
    converted = items_to_lists(reply, n, names=names)
    assert parse_answer(converted, n, strict=True, names=names).valid
    missing = reply.replace(f"\n{n}: cluster{(n % k) + 1}", "")
    assert not rx.fullmatch(missing)  # an item left out is not admitted
    assert not rx.fullmatch(reply.replace("1: cluster", f"{n + 1}: cluster", 1))
    assert not rx.fullmatch(reply.replace(f"Total clusters: {k}", "Total clusters: 99"))
    assert not rx.fullmatch(reply.replace(f"Total clusters: {k}", "Total clusters: 1")) or n == 1
    if think is not None:
        assert not rx.fullmatch(reply.replace(f"\n{thought}\n", "\n" + "x" * (think + 1) + "\n", 1))
    assert not rx.fullmatch(reply.replace(f"<think>\n{thought}", "<think>\na <b", 1))


def test_items_answer_json_alternative_decodes_to_the_lines() -> None:
    g = items_answer(3, names=True)
    obj = {"reasoning": "r", "total_clusters": 2, "clusters": ["fruit", "car"], "assignment": {"1": 1, "2": 2, "3": 1}}
    assert set(g.schema["properties"]["assignment"]["required"]) == {"1", "2", "3"}
    lines = g.decode(obj)
    assert to_regex(items_answer(3, names=True, think_chars=None).gbnf).fullmatch(lines)
    assert parse_answer(items_to_lists(lines, 3, names=True), 3, names=True).valid


def test_lists_answer_is_the_paper_format() -> None:
    rx = to_regex(lists_answer(5, n_clusters=2).gbnf)
    ok = "<think>\nt\n</think>\n<answer>\nTotal clusters: 2\ncluster1: [1, 3, 5]\ncluster2: [2, 4]\n</answer>"
    assert rx.fullmatch(ok) and parse_answer(ok, 5).valid
    assert not rx.fullmatch(ok.replace("[2, 4]", "[2, 6]"))
    assert not rx.fullmatch(ok.replace("cluster2", "cluster3"))


def test_placements_choice_lines_and_fields() -> None:
    assert to_regex(placements([3, 7], 2).gbnf).fullmatch("3: cluster2\n7: cluster1")
    assert not to_regex(placements([3, 7], 2).gbnf).fullmatch("3: cluster3\n7: cluster1")
    assert placements([3, 7], 2).decode({"3": 2, "7": 1}) == "3: cluster2\n7: cluster1"
    rx = to_regex(name_lines(2, 4).gbnf)
    assert rx.fullmatch("Poem: verse\nRap: rhymes") and rx.fullmatch("a: b\nc: d\ne: f\ng: h")
    assert not rx.fullmatch("Poem: verse") and not rx.fullmatch("a: b\nc: d\ne: f\ng: h\ni: j")
    assert to_regex(numbered_names("group", 2, 3).gbnf).fullmatch("group1: a\ngroup2: b")
    assert to_regex(fields(["Name", "Description"]).gbnf).fullmatch("Name: Billing\nDescription: money matters")
    assert fields(["Name", "Description"]).decode({"name": "B", "description": "d"}) == "Name: B\nDescription: d"


def test_describe_is_canonical_for_cache_keys() -> None:
    assert describe(Choice(("a", "b"))) == describe(Choice(("a", "b"))) != describe(Choice(("b", "a")))
    assert describe(None) == ""
    assert describe(items_answer(2)).startswith("grammar:root ::= ")


def test_items_to_lists_is_faithful() -> None:
    reply = "<answer>Total clusters: 2\n1: cluster1\n2: cluster3\n2: cluster1\n</answer>"
    converted = items_to_lists(reply, 3)
    parsed = parse_answer(converted, 3)
    assert {v.kind for v in parsed.violations} >= {"missing", "duplicate", "count_mismatch"}
    assert items_to_lists("<answer>Total clusters: 1\ncluster1: [1, 2]</answer>", 2) is None
