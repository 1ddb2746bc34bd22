"""Self-consistency: the consensus partition of several sampled answers, and how stable it is.

Consensus is average-linkage clustering of the co-assignment matrix cut at 0.5; names
come from the sample closest to the consensus (highest ARI); ``stability`` is the
mean ARI between the samples and the consensus.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import Clustering, Usage

__all__ = ["consensus", "dedupe"]


def dedupe(names: Sequence[str]) -> list[str]:
    """Distinct names: a repeated one gets ``(2)``, ``(3)``...

    >>> dedupe(["a", "b", "a"])
    ['a', 'b', 'a (2)']
    """
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def consensus(results: Sequence[Clustering], n: int, *, samples: int, model: str) -> Clustering:
    """One clustering from ``results`` (each a complete partition of ``n`` texts)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    co = np.zeros((n, n))
    for r in results:
        lab = np.asarray(r.labels)
        co += lab[:, None] == lab[None, :]
    co /= len(results)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=0.5
    ).fit_predict(1.0 - co)
    aris = [adjusted_rand_score(labels, r.labels) for r in results]
    medoid = results[int(np.argmax(aris))]
    # Name each consensus cluster after the medoid sample's cluster it overlaps most.
    names = []
    for k in sorted(set(labels), key=lambda x: int(np.argmax(labels == x))):
        members = np.flatnonzero(labels == k)
        votes = np.bincount([medoid.labels[i] for i in members])
        names.append(medoid.clusters[int(np.argmax(votes)) - 1].name)
    usage = Usage()
    for r in results:
        usage.add(r.usage)
    notes = [f"consensus of {len(results)} of {samples} samples"]
    if len(results) < samples:
        notes.append(f"{samples - len(results)} sample(s) gave no usable answer")
    return Clustering.from_labels(
        [int(x) for x in labels],
        names=dedupe(names),
        method="agent",
        model=model,
        usage=usage,
        reasoning=medoid.reasoning,
        repaired=any(r.repaired for r in results),
        salvaged=any(r.salvaged for r in results),
        attempts=sum(r.attempts for r in results),
        stability=float(np.mean(aris)),
        notes=notes,
    )
