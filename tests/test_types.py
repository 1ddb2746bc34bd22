from __future__ import annotations

import pytest

from cluster_r1.types import Cluster, Clustering, Usage


def test_round_trip_keeps_everything() -> None:
    c = Clustering(
        clusters=[Cluster("Billing", [1, 3], "charges"), Cluster("Login", [2])],
        labels=[1, 2, 1],
        method="agent",
        model="m",
        usage=Usage(2, 100, 50, 1.5),
        reasoning="because",
        repaired=True,
        salvaged=True,
        attempts=3,
        stability=0.9,
        notes=["x"],
    )
    back = Clustering.from_json(c.to_json())
    assert back == c
    assert c.to_dict()["n_clusters"] == 2


@pytest.mark.parametrize(
    "clusters,labels,match",
    [
        ([Cluster("a", [1]), Cluster("b", [1, 2])], [1, 2], "in clusters"),
        ([Cluster("a", [1])], [1, 1], "in no cluster"),
        ([Cluster("a", [1, 3])], [1, 1], "outside"),
        ([Cluster("a", [1, 2]), Cluster("b", [])], [1, 1], "empty"),
        ([Cluster("a", [1]), Cluster("b", [2])], [1, 1], "labels"),
    ],
)
def test_invariant_violations_are_rejected(clusters, labels, match) -> None:
    with pytest.raises(ValueError, match=match):
        Clustering(clusters=clusters, labels=labels)


def test_from_labels_numbers_by_first_appearance() -> None:
    c = Clustering.from_labels(["z", "y", "z", "x"])
    assert c.labels == [1, 2, 1, 3]
    assert [cl.items for cl in c.clusters] == [[1, 3], [2], [4]]
