"""Fast, dependency-free tests of the training package: configs, data rows, distillation checks, rewards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster_r1.answer import parse_answer
from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.bench.splits import Example
from cluster_r1.errors import ConfigError
from cluster_r1.train._deps import require
from cluster_r1.train.config import list_presets, load_config, parse_overrides
from cluster_r1.train.data import final_answer_rows, gold_answer, grpo_rows, render_prompt
from cluster_r1.train.distill import DistillConfig, Distiller, check_trace, parse_review
from cluster_r1.train.grpo import GRPORunConfig, reward_functions
from cluster_r1.train.reward_funcs import FormatShaping, format_shaping_score
from cluster_r1.train.sft import SFTRunConfig

EX = Example(id="e1", split="train", task="t", corpus="c", instruction="Cluster by topic.",
             texts=["apple", "drill", "pear"], labels=["fruit", "tool", "fruit"])
THINK = " ".join(["Items one and three are fruit while item two is a tool."] * 5)
GOOD = f"<think>{THINK}</think><answer>Total clusters: 2\ncluster1: [1, 3]\ncluster2: [2]</answer>"
ACCEPT = json.dumps({"complete_logical_flow": True, "appropriate_length": True, "coherent_steps": True,
                     "restates_answer": False, "verdict": "accept", "reason": "fine"})


def _kind(name: str) -> type:
    if name == "distill":
        return DistillConfig
    return SFTRunConfig if "sft" in name else GRPORunConfig


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_loads(name: str) -> None:
    config = load_config(_kind(name), name)
    paper = name.startswith(("qwen2.5-", "ablation-"))
    if isinstance(config, GRPORunConfig) and paper:
        assert (config.num_generations, config.temperature, config.epsilon) == (5, 1.0, 0.2)
        assert config.beta > 0 and config.max_completion_length == 4096
        assert config.prompts_per_step * config.num_generations == 160
    if isinstance(config, SFTRunConfig) and paper:
        assert (config.global_batch_size, config.micro_batch_size, config.num_train_epochs) == (128, 1, 1.0)
        assert config.gradient_checkpointing


def test_ablation_presets_differ_as_the_paper_says() -> None:
    rl = load_config(GRPORunConfig, "ablation-rl-only")
    hint = load_config(GRPORunConfig, "ablation-rl-hint")
    full = load_config(GRPORunConfig, "ablation-distill-rl-hint")
    assert (rl.prompt, hint.prompt, full.prompt) == ("paper", "hint", "hint")
    assert rl.model == hint.model == "Qwen/Qwen2.5-7B-Instruct" and full.model.endswith("sft/final")
    assert load_config(SFTRunConfig, "ablation-sft-final-answer").target == "final_answer"


def test_overrides_and_errors() -> None:
    cfg = load_config(GRPORunConfig, "qwen2.5-7b-grpo", parse_overrides(["beta=0.04", "use_vllm=false"]))
    assert cfg.beta == 0.04 and cfg.use_vllm is False
    with pytest.raises(ConfigError, match="unknown GRPORunConfig field"):
        load_config(GRPORunConfig, None, {"betta": 0.1})
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["beta"])
    with pytest.raises(ConfigError, match="num_generations"):
        GRPORunConfig(num_generations=1)
    with pytest.raises(ConfigError, match="micro_batch_size"):
        GRPORunConfig(micro_batch_size=3).grad_accumulation(8)
    with pytest.raises(ConfigError, match="max_length"):
        SFTRunConfig(max_length=65536)
    assert SFTRunConfig(global_batch_size=128).grad_accumulation(1) == 128


def test_rows_hold_prompt_and_gold() -> None:
    assert gold_answer(EX.labels).splitlines()[1] == "cluster1: [1, 3]"
    row = final_answer_rows([EX])[0]
    assert parse_answer(row["completion"][0]["content"], 3).valid
    assert row["prompt"][0]["content"] == render_prompt(EX, "hint")
    g = grpo_rows([EX], "paper")[0]
    assert g["gold_labels"] == EX.labels and "fruit" not in g["prompt"][0]["content"]


def test_trace_checks() -> None:
    assert check_trace(GOOD, EX.labels).ok
    assert check_trace(GOOD.replace("<think>", ""), EX.labels).reason.startswith("invalid format")
    assert "differs" in check_trace(GOOD.replace("[1, 3]", "[1]").replace("[2]", "[2, 3]"), EX.labels).reason
    short = "<think>fruit vs tool</think><answer>Total clusters: 2\ncluster1: [1, 3]\ncluster2: [2]</answer>"
    assert "too short" in check_trace(short, EX.labels).reason
    leak = GOOD.replace("Items one", "As the reference solution says, items one")
    assert "reference" in check_trace(leak, EX.labels).reason
    assert parse_review(ACCEPT).ok
    assert not parse_review(ACCEPT.replace('"restates_answer": false', '"restates_answer": true')).ok


def test_distiller_is_resumable(tmp_path: Path) -> None:
    cfg = DistillConfig(output_dir=str(tmp_path))
    teacher = ScriptedBackend([GOOD, ACCEPT])
    assert Distiller(teacher, config=cfg).run([EX]).accepted == 1
    result = Distiller(ScriptedBackend(), config=cfg).run([EX])  # would fail on any call
    assert (result.accepted, result.resumed) == (1, 1)
    assert json.loads(result.sft_file.read_text().splitlines()[0])["completion"][0]["content"] == GOOD


def test_reward_functions() -> None:
    funcs, weights = reward_functions(GRPORunConfig(format_shaping=0.5))
    assert weights == [1.0, 0.5, 0.0]
    assert [f.__name__ for f in funcs] == ["cluster_reward_harmonic", "format_shaping", "format_valid"]
    logged: dict[str, float] = {}
    values = [f([GOOD, "x"], gold_labels=[EX.labels] * 2, log_metric=logged.__setitem__) for f in funcs]
    assert values[0] == pytest.approx([1.0, 0.0], abs=1e-5) and values[2] == [1.0, 0.0]
    assert logged == {"format_rate": 0.5, "count_accuracy": 0.5, "v_measure": 0.5}
    assert format_shaping_score(GOOD, 3) == 1.0 > FormatShaping()(["<think>"], gold_labels=[EX.labels])[0] > 0


def test_missing_dependency_names_the_pip_command() -> None:
    with pytest.raises(ImportError, match="pip install"):
        require("surely_not_a_module_xyz")


def test_a_dequantised_gguf_model_is_trainable(tmp_path) -> None:
    """transformers keeps a GGUF 'quantizer' on dequantised float weights and its Trainer refuses them."""
    from types import SimpleNamespace

    import transformers
    from transformers.trainer_utils import validate_quantization_for_training

    from cluster_r1.train.models import mark_dequantized
    from cluster_r1.train.tiny import build_tiny_model

    lm = transformers.AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "tiny", ["a b c", "d e f"]))
    gguf = SimpleNamespace(quant_method="gguf")
    lm.hf_quantizer = SimpleNamespace(quantization_config=gguf, is_trainable=False, is_qat_trainable=False)
    lm.is_quantized = True
    lm.config.quantization_config = gguf
    with pytest.raises(ValueError, match="quantized"):
        validate_quantization_for_training(lm)
    mark_dequantized(lm)
    validate_quantization_for_training(lm)
    assert not hasattr(lm.config, "quantization_config")


def _checkpoint(run: Path, step: int, complete: bool = True) -> None:
    folder = run / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    if complete:
        (folder / "trainer_state.json").write_text("{}")


def test_run_folder_refuses_a_restart_and_resumes_from_the_newest_checkpoint(tmp_path: Path) -> None:
    from cluster_r1.train.runs import last_checkpoint, read_metrics, read_state, start_point

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "reward": s / 10}) + "\n" for s in range(1, 8)))
    _checkpoint(run, 5)
    _checkpoint(run, 10, complete=False)  # killed while saving
    _checkpoint(run, 2)
    assert last_checkpoint(run) == run / "checkpoint-5"
    with pytest.raises(ConfigError, match="holds checkpoint-5 of an earlier grpo run: add --resume"):
        start_point(run, resume=False, stage="grpo")
    assert start_point(run, resume=True, stage="grpo") == run / "checkpoint-5"
    assert [m["step"] for m in read_metrics(run)] == [1, 2, 3, 4, 5]  # 6 and 7 are logged again
    state = read_state(run)
    assert (state["status"], state["step"], state["checkpoint"]) == ("running", 5, "checkpoint-5")
    assert "--resume" in state["next"]


def test_a_fresh_run_starts_a_clean_curve(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from cluster_r1.train.runs import read_metrics, start_point, write_state

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "reward": 0.5}) + "\n")
    assert start_point(run, resume=False, stage="sft") is None
    assert read_metrics(run) == []
    with caplog.at_level("WARNING", logger="cluster_r1"):
        assert start_point(run, resume=True, stage="sft") is None
    assert "no complete checkpoint" in caplog.text
    assert "next" not in write_state(run, status="done")


def test_train_status_says_what_is_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cluster_r1.cli import main
    from cluster_r1.train.runs import write_state

    run = tmp_path / "run"
    _checkpoint(run, 4)
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps({"step": s, "reward": r}) + "\n" for s, r in ((1, 0.25), (4, 0.5)))
    )
    write_state(run, stage="grpo", status="running", step=4, max_steps=30)
    assert main(["train", "status", str(run)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("grpo running: step 4 of 30; newest checkpoint checkpoint-4")
    assert "0.250 at the first logged step, 0.500 at the last" in line and "--resume" in line
    assert main(["train", "status", str(tmp_path)]) != 0
    assert "holds no state.json" in capsys.readouterr().err


def test_reward_rise_and_lora_targets() -> None:
    from cluster_r1.train.grpo import reward_rise
    from cluster_r1.train.models import dtype_name, target_modules

    assert reward_rise([0.0, 0.1, 0.2, None, 0.3, 0.4, 0.5]) == {"first": 0.1, "last": 0.4, "rise": 0.3}
    assert reward_rise([0.5] * 5) is None
    assert target_modules("q_proj,v_proj") == ["q_proj", "v_proj"]
    assert dtype_name(True, True) == "float32" and dtype_name(False, True, cpu_bf16=True) == "bfloat16"


def test_bad_input_leaves_the_run_state_alone(tmp_path: Path) -> None:
    from cluster_r1.errors import InputError
    from cluster_r1.train.grpo import train_grpo
    from cluster_r1.train.runs import read_metrics, read_state

    pytest.importorskip("trl")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 3, "reward": 0.5}) + "\n")
    with pytest.raises(InputError, match="does not exist"):
        train_grpo(GRPORunConfig(train_file=str(tmp_path / "missing"), output_dir=str(run), use_cpu=True))
    assert read_state(run) == {} and [m["step"] for m in read_metrics(run)] == [3]
