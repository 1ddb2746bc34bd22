"""scripts/train_gpu.sh stays runnable: every command it prints parses, and every config it names loads."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from cluster_r1.cli import build_parser
from cluster_r1.train.config import load_config, parse_overrides
from cluster_r1.train.grpo import GRPORunConfig
from cluster_r1.train.sft import SFTRunConfig

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_gpu.sh"


def test_dry_run_commands_parse_and_configs_load(tmp_path: Path) -> None:
    env = {**os.environ, "DRY_RUN": "1", "MODEL": "Qwen/Qwen2.5-3B-Instruct", "OUT": str(tmp_path / "gpu")}
    out = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=True).stdout
    commands = [shlex.split(line[2:]) for line in out.splitlines() if line.startswith("+ ")]
    stages = [" ".join(c[1:3]) for c in commands]
    assert stages == ["bench build", "train sft", "train grpo", "eval --bench", "eval --bench", "eval --bench"]
    parser = build_parser()
    for argv in commands:
        assert argv[0] == "cluster-r1"
        args = parser.parse_args(argv[1:])
        if argv[1] == "train":
            cls = SFTRunConfig if args.stage == "sft" else GRPORunConfig
            config = load_config(cls, args.config, parse_overrides(args.overrides))
            assert args.resume and config.output_dir.startswith(str(tmp_path))
            if cls is GRPORunConfig:
                assert config.format_shaping == 0 and config.reward_combination == "harmonic"  # the paper's reward
                assert config.model == str(tmp_path / "gpu" / "sft" / "final")
    evals = [parser.parse_args(c[1:]) for c in commands if c[1] == "eval"]
    assert [e.checkpoint for e in evals] == ["Qwen/Qwen2.5-3B-Instruct", *(str(tmp_path / "gpu" / s / "final")
                                                                        for s in ("sft", "grpo"))]
    assert all(e.strict and e.max_reasks == 0 and e.no_salvage for e in evals)
