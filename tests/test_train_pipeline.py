"""End to end on CPU: distil (scripted teacher) -> SFT 2 steps -> GRPO 2 steps -> save -> serve and score.

The model is a 2-layer, hidden-64 Qwen2 built from a config with a tokenizer trained
on the fly: nothing is downloaded. It proves the wiring (datasets, TRL trainers,
rewards fed by the gold-label column, logging, saving, loading back through
TransformersBackend and the agent), not that training helps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("datasets")

from cluster_r1.agent import ClusteringAgent  # noqa: E402
from cluster_r1.backends.scripted import ScriptedBackend  # noqa: E402
from cluster_r1.bench.splits import Example, write_jsonl  # noqa: E402
from cluster_r1.errors import AnswerError, ConfigError  # noqa: E402
from cluster_r1.train.data import read_rows, render_prompt  # noqa: E402
from cluster_r1.train.distill import DistillConfig, Distiller  # noqa: E402
from cluster_r1.train.grpo import GRPORunConfig, train_grpo  # noqa: E402
from cluster_r1.train.probe import probe  # noqa: E402
from cluster_r1.train.runs import read_metrics, read_state  # noqa: E402
from cluster_r1.train.sft import SFTRunConfig, train_sft  # noqa: E402
from cluster_r1.train.tiny import build_tiny_model  # noqa: E402

FRUIT = ["apple pie recipe", "banana bread", "cherry jam", "grape juice"]
TOOLS = ["hammer and nails", "screwdriver set", "power drill", "wrench sizes"]


def _examples() -> list[Example]:
    out = []
    for i in range(4):
        texts = [FRUIT[i], TOOLS[i], FRUIT[(i + 1) % 4], TOOLS[(i + 2) % 4]]
        labels = ["food", "tools", "food", "tools"]
        if i % 2:
            texts, labels = texts[::-1], labels[::-1]
        out.append(Example(id=f"ex{i}", split="train", task="t", corpus="toy",
                           instruction="Cluster these texts by topic.", texts=texts, labels=labels))
    return out


def _trace(ex: Example) -> str:
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(ex.labels, start=1):
        groups.setdefault(lab, []).append(i)
    reasoning = " ".join(
        f"Items {', '.join(map(str, items))} share one theme, so they form the group '{lab}'."
        for lab, items in groups.items()
    )
    think = (f"The instruction asks for topics. {reasoning} " * 4).strip()
    answer = "\n".join(f"cluster{k}: [{', '.join(map(str, items))}]" for k, items in enumerate(groups.values(), 1))
    return f"<think>\n{think}\n</think>\n<answer>\nTotal clusters: {len(groups)}\n{answer}\n</answer>"


ACCEPT = json.dumps({"complete_logical_flow": True, "appropriate_length": True, "coherent_steps": True,
                     "restates_answer": False, "verdict": "accept", "reason": "ok"})


def test_distill_sft_grpo_serve(tmp_path: Path) -> None:
    examples = _examples()
    bench = tmp_path / "bench"
    write_jsonl(examples, bench / "train.jsonl")

    # 1. distillation: ex0 first answers wrongly (caught in code, retried), ex3 is rejected by the reviewer
    teacher = ScriptedBackend()
    teacher.enqueue(_trace(examples[0]).replace("[1, 3]", "[1]").replace("[2, 4]", "[2, 3, 4]"))
    teacher.enqueue(_trace(examples[0]), ACCEPT)
    teacher.enqueue(_trace(examples[1]), ACCEPT, _trace(examples[2]), ACCEPT)
    teacher.enqueue(_trace(examples[3]), ACCEPT.replace('"accept"', '"reject"'))
    teacher.enqueue(_trace(examples[3]), ACCEPT.replace('"accept"', '"reject"'))
    cfg = DistillConfig(train_file=str(bench), output_dir=str(tmp_path / "distill"), max_attempts=2)
    result = Distiller(teacher, config=cfg).run(examples)
    assert (result.accepted, result.rejected) == (3, 1)
    assert teacher.pending == 0
    assert "Reference solution" in teacher.history[0][0]["content"]
    rows = read_rows(result.sft_file)
    assert rows[0]["prompt"][0]["content"] == render_prompt(examples[0], "hint")
    assert "Reference" not in rows[0]["prompt"][0]["content"]
    # resuming repeats no call
    again = Distiller(ScriptedBackend(), config=cfg).run(examples)
    assert (again.accepted, again.resumed) == (3, 4)

    # 2. a tiny random model with a tokenizer trained on the data
    corpus = [render_prompt(ex, p) for ex in examples for p in ("hint", "paper")] + [_trace(ex) for ex in examples]
    base = build_tiny_model(tmp_path / "tiny", corpus, vocab_size=400)

    # 3. SFT, 2 steps of 2 micro-batches, completion-only loss
    sft = train_sft(SFTRunConfig(
        model=str(base), train_file=str(result.sft_file), output_dir=str(tmp_path / "sft"),
        max_length=4096, global_batch_size=2, micro_batch_size=1, max_steps=2, learning_rate=5e-3,
        warmup_ratio=0.0, gradient_checkpointing=False, bf16=False, use_cpu=True, save_steps=1000,
    ))
    assert sft["steps"] == 2 and sft["truncation"]["n_truncated"] == 0
    assert all(g > 0 for g in sft["grad_norms"])

    # 4. GRPO, 2 steps, 4 rollouts of one prompt per step, shaped reward so a weak policy gets a signal
    grpo = train_grpo(GRPORunConfig(
        model=sft["final_model"], train_file=str(bench), output_dir=str(tmp_path / "grpo"), prompt="paper",
        num_generations=4, prompts_per_step=1, micro_batch_size=4, max_completion_length=48, max_steps=2,
        learning_rate=1e-3, beta=0.04, reward_combination="mean", format_shaping=1.0,
        gradient_checkpointing=False, bf16=False, use_cpu=True, save_steps=1,
    ))
    assert grpo["steps"] == 2
    assert max(grpo["reward_std"]) > 0
    assert max(grpo["grad_norms"]) > 0
    logged = [m for m in read_metrics(tmp_path / "grpo") if "reward" in m]
    assert len(logged) == 2
    assert {"reward", "format_rate", "count_accuracy", "v_measure", "completions/mean_length", "kl"} <= set(logged[-1])
    assert (tmp_path / "grpo" / "final" / "config.json").exists()
    assert read_state(tmp_path / "grpo")["status"] == "done"

    # 4b. the run folder is not started over by accident; --resume goes on from its newest checkpoint
    more = dict(model=sft["final_model"], train_file=str(bench), output_dir=str(tmp_path / "grpo"), prompt="paper",
                num_generations=4, prompts_per_step=1, micro_batch_size=4, max_completion_length=48, max_steps=3,
                learning_rate=1e-3, beta=0.0, reward_combination="mean", format_shaping=1.0,
                gradient_checkpointing=False, bf16=False, use_cpu=True, save_steps=1)
    with pytest.raises(ConfigError, match="add --resume"):
        train_grpo(GRPORunConfig(**more))  # type: ignore[arg-type]
    resumed = train_grpo(GRPORunConfig(**more, resume=True))  # type: ignore[arg-type]
    assert resumed["steps"] == 3
    assert [m["step"] for m in read_metrics(tmp_path / "grpo") if "reward" in m] == [1, 2, 3]
    rollouts = read_rows(tmp_path / "grpo" / "completions.jsonl")
    assert [r["step"] for r in rollouts] == [1] * 4 + [2] * 4 + [3] * 4
    assert all(isinstance(r["completion"], str) and r["gold_labels"] for r in rollouts)

    # 5. the saved checkpoint serves through TransformersBackend: the probe and the agent
    from cluster_r1.backends.transformers_local import TransformersBackend

    backend = TransformersBackend(grpo["final_model"], max_new_tokens=32)
    scored = probe(backend, examples[:2], prompt="paper", max_tokens=32)
    assert scored.n == 2 and 0.0 <= scored.reward <= 1.0 and scored.mean_completion_tokens > 0
    agent = ClusteringAgent(backend, prompt="paper", max_reasks=0, max_tokens=32)
    try:
        clustering = agent.cluster(examples[0].texts, examples[0].instruction)
        assert clustering.n_texts == 4
    except AnswerError as exc:  # a random model rarely writes a usable cluster line
        assert exc.attempts and all(isinstance(a, str) for a in exc.attempts)

    # 6. ... and through the evaluation harness: cluster-r1 eval --method agent --checkpoint DIR
    import json

    from cluster_r1.cli import main

    write_jsonl(examples[:2], tmp_path / "bench" / "c1.jsonl")
    rc = main(["eval", "--bench", str(tmp_path / "bench"), "--method", "agent,kmeans", "--split", "C1",
               "--checkpoint", str(grpo["final_model"]), "--checkpoint-dtype", "bfloat16",
               "--max-tokens", "16", "--max-reasks", "0",
               "--no-salvage", "--embed-cache", str(tmp_path / "emb"), "--out", str(tmp_path / "eval"), "-q"])
    assert rc == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    agent_rows = [r for r in results["records"] if r["method"].startswith("agent")]
    assert len(agent_rows) == 2 and "--checkpoint-dtype bfloat16" in results["command"]
