from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_openai import FakeOpenAIServer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DOMAINS = ("banking", "kitchen_and_dining", "travel")


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def clinc3() -> tuple[list[str], list[str]]:
    """30 CLINC150 test utterances from each of 3 clearly different domains (texts, domain labels)."""
    path = DATA / "clinc150" / "data_full.json"
    if not path.exists():
        pytest.skip(f"{path} not found (the shared corpora are not mounted)")
    data = json.loads(path.read_text())
    domains = json.loads((DATA / "clinc150" / "domains.json").read_text())
    rng = random.Random(0)
    texts: list[str] = []
    labels: list[str] = []
    for d in DOMAINS:
        pool = sorted(t for t, i in data["test"] if i in domains[d])
        picked = rng.sample(pool, 30)
        texts += picked
        labels += [d] * len(picked)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]
