"""The catalog's rows, user entries from config.toml, name resolution and the memory estimate."""

from __future__ import annotations

import json

import pytest

from canvasedit.config import ConfigError, Settings, load_settings, save_settings
from canvasedit.models import catalog, fit, registry
from canvasedit.models.catalog import CATALOG, COMMIT, DEFAULT_MODEL, CatalogEntry, resolve_model
from canvasedit.models.errors import ModelNotFound
from canvasedit.params import SamplerParams, check_layer

FAMILIES = {spec.name for spec in registry.families()}
"""The family names the registry uses."""


def test_every_row_is_complete_and_honest():
    names = set()
    for entry in CATALOG.values():
        assert entry.name not in names
        names.add(entry.name)
        assert entry.family in FAMILIES, entry.name
        assert entry.kind in catalog.KINDS
        assert entry.params > 0 and entry.description and entry.verified, entry.name
        assert check_layer(entry.recipe) == dict(entry.recipe), entry.name  # every key a SamplerParams field
        SamplerParams.layered(entry.recipe)  # and every value in range
        if entry.kind == "bundled":
            continue
        assert entry.repo and entry.repo.count("/") == 1, entry.name
        # a revision is a full commit read from the hub, or a branch: never an invented short hash
        assert COMMIT.fullmatch(entry.revision) or entry.revision == "main", entry.name
        if entry.revision == "main":
            assert "revision" in entry.verified or "unpinned" in entry.verified or "not read" in entry.verified
        if entry.kind == "gguf":
            assert entry.quants and all(q.filename.endswith(".gguf") and q.size > 0 for q in entry.quants)
        else:
            assert not entry.quants and entry.download_bytes > 0


def test_the_catalog_names_the_models_people_run():
    repos = {e.repo for e in CATALOG.values()}
    for repo in ("GSAI-ML/LLaDA-8B-Instruct", "GSAI-ML/LLaDA-8B-Base", "GSAI-ML/LLaDA-1.5",
                 "inclusionAI/LLaDA-MoE-7B-A1B-Instruct", "Dream-org/Dream-v0-Instruct-7B",
                 "Dream-org/Dream-Coder-v0-Instruct-7B", "apple/DiffuCoder-7B-Instruct", "Dream-org/DreamOn-v0-7B",
                 "dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1", "dllm-hub/Qwen2.5-Coder-0.5B-Instruct-diffusion-mdlm-v0.1",
                 "fredzzp/open-dcoder-0.5B", "JetLM/SDAR-1.7B-Chat", "Efficient-Large-Model/Fast_dLLM_v2_1.5B",
                 "dllm-hub/ModernBERT-large-chat-v0.1"):
        assert repo in repos
    block = [e for e in CATALOG.values() if e.family in ("sdar", "fast-dllm")]
    assert block and not any(e.sees_suffix for e in block)  # block diffusion fills left to right


def test_bundled_default_resolves_offline():
    path = resolve_model(None)
    assert resolve_model(DEFAULT_MODEL) == path and (path / "config.json").is_file()
    assert CATALOG[DEFAULT_MODEL].kind == "bundled"


def test_a_hub_entry_not_pulled_says_how_to_pull_it():
    with pytest.raises(ModelNotFound, match="'qwen2.5-coder-0.5b-mdlm' .* is not downloaded; run: canvasedit models pull"):
        resolve_model("qwen2.5-coder-0.5b-mdlm")
    with pytest.raises(ModelNotFound, match="no catalog entry named 'nope'"):
        resolve_model("nope")


def test_quantization_names_and_specs():
    gguf = CATALOG["llada-8b-instruct-gguf"]
    assert gguf.quant(None).name == "Q4_K_M"  # the recommended one first
    assert gguf.quant("q8_0").filename == "llada-8b-q8_0.gguf"
    with pytest.raises(ModelNotFound, match="has no quantization 'Q2_K'; it has Q4_K_M, Q8_0, F16"):
        gguf.quant("Q2_K")
    assert catalog.split_spec("llada-8b-instruct-gguf:Q8_0") == ("llada-8b-instruct-gguf", "Q8_0")
    assert catalog.split_spec("./models/x:y") == ("./models/x:y", None)  # a path keeps its colon


def test_user_entries_come_from_config_and_never_shadow_built_ins(tmp_path, tiny_model_dir):
    save_settings(Settings(models={
        "mine": {"path": str(tiny_model_dir), "family": "llada"},
        "coder": {"repo": "org/coder", "family": "a2d", "recipe": {"steps": 16}},
        DEFAULT_MODEL: {"path": str(tmp_path), "family": "llada"},
    }))
    entries = catalog.entries()
    assert entries["mine"].kind == "folder" and entries["mine"].user
    assert entries["coder"].kind == "safetensors" and entries["coder"].recipe == {"steps": 16}
    assert entries[DEFAULT_MODEL].kind == "bundled"
    assert resolve_model("mine") == tiny_model_dir
    assert load_settings().models["coder"]["repo"] == "org/coder"  # survives a round trip through TOML


@pytest.mark.parametrize("table, message", [
    ({"family": "llada"}, "needs exactly one of repo"),
    ({"repo": "a/b", "path": "/x", "family": "llada"}, "needs exactly one of repo"),
    ({"repo": "a/b"}, "needs a family"),
    ({"repo": 3, "family": "llada"}, "models.m.repo must be a string"),
    ({"repo": "a/b", "family": "llada", "recipe": {"steps": 0}}, r"models.m.recipe.steps must be"),
])
def test_bad_model_tables_are_named(table, message):
    with pytest.raises(ConfigError, match=message):
        Settings(models={"m": table})


def test_memory_estimate_is_params_times_bytes_plus_the_canvas():
    e = CatalogEntry(name="m", family="llada", repo="a/b", params=8_000_000_000, hidden=4096, vocab=126464,
                     context=4096)
    cpu, gpu = fit.estimate(e, "cpu"), fit.estimate(e, "cuda")
    assert cpu.weights == 32_000_000_000 and gpu.weights == 16_000_000_000  # float32 on CPU, bf16 on CUDA
    assert cpu.activations == 2048 * (4096 * fit.ACTIVATION_FACTOR * 4 + 126464 * 4)
    assert cpu.total == cpu.weights + cpu.activations + fit.RUNTIME_BYTES
    gguf = fit.estimate(e, "cpu", gguf_bytes=5_000_000_000, quant="Q4_K_M")
    assert gguf.weights == 5_000_000_000 and gguf.dtype == "Q4_K_M"


def test_fit_prefers_the_gpu_then_ram_then_says_too_large():
    e = CatalogEntry(name="m", family="llada", repo="a/b", params=1_000_000_000, hidden=2048, vocab=32000)
    need_cpu, need_gpu = fit.estimate(e, "cpu").total, fit.estimate(e, "cuda").total
    gpu = fit.Machine(ram_available=need_cpu, ram_total=need_cpu, gpu="GPU", vram_free=need_gpu, vram_total=need_gpu)
    assert fit.judge(e, gpu).label == "fits GPU"
    assert fit.judge(e, fit.Machine(need_cpu, need_cpu)).label == "fits RAM"
    small = fit.Machine(need_cpu - 1, need_cpu)
    verdict = fit.judge(e, small)
    assert verdict.label == "too large" and not verdict.ok and verdict.need == need_cpu
    assert "1.00B parameters x 4 bytes = 4.0 GB" in fit.explain(e, verdict, small)


def test_this_machine_reports_its_memory():
    here = fit.machine()
    assert 0 < here.ram_available <= here.ram_total


def test_measure_records_peak_memory_and_speed_for_list(capsys):
    from canvasedit.cli import main

    assert main(["models", "measure", DEFAULT_MODEL, "--device", "cpu", "--tokens", "4", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["peak_bytes"] > 10_000_000 and measured["tokens_per_s"] > 0 and measured["device"] == "cpu"
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows[DEFAULT_MODEL]["measured"]["peak_bytes"] == measured["peak_bytes"]
    assert main(["models", "pull", DEFAULT_MODEL]) == 0  # bundled: nothing to pull, and no network asked
    assert "bundled with CanvasEdit; there is nothing to pull" in capsys.readouterr().out


@pytest.mark.parametrize("argv, line", [
    (["pull"], "canvasedit models pull: error: NAME is required"),
    (["info"], "canvasedit models info: error: NAME is required"),
    (["add"], "canvasedit models add: error: REPO|PATH is required"),
    (["frobnicate"], ("canvasedit models: error: unknown subcommand 'frobnicate'; choose from list, pull, use, rm, "
                      "info, verify, add, measure")),
    (["use", "a", "b"], "canvasedit models use: error: unrecognized arguments: b"),
    (["pull", "qwen3-0.6b-mdlm", "--revision"], "canvasedit models pull: error: --revision needs a value"),
    (["measure", DEFAULT_MODEL, "--tokens", "many"],
     "canvasedit models measure: error: --tokens must be a whole number, found 'many'"),
    (["pull", "qwen3-0.6b-mdlm", "--quant", "Q4_K_M"],
     "canvasedit models pull: error: --quant applies only to GGUF models, and qwen3-0.6b-mdlm has safetensors weights"),
    (["rm", "qwen3-0.6b-mdlm:Q8_0"],
     "canvasedit models rm: error: --quant applies only to GGUF models, and qwen3-0.6b-mdlm has safetensors weights"),
    (["pull", DEFAULT_MODEL, "--quant", "Q8_0"],
     f"canvasedit models pull: error: --quant applies only to GGUF models, and {DEFAULT_MODEL} is bundled"),
    (["pull", "llada-8b-instruct-gguf", "--quant", "Q2_K"],
     "canvasedit models pull: error: llada-8b-instruct-gguf has no quantization 'Q2_K'; it has Q4_K_M, Q8_0, F16"),
    (["rm", DEFAULT_MODEL], f"canvasedit models rm: error: {DEFAULT_MODEL} is bundled with CanvasEdit and cannot be removed"),
])
def test_models_command_line_errors_are_one_line_with_exit_2(argv, line, capsys):
    from canvasedit import paths
    from canvasedit.cli import main

    assert main(["models", *argv]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [line] and err.endswith("\n") and out == ""
    assert not paths.config_file().exists()  # nothing written


def test_models_with_only_flags_lists(capsys):
    from canvasedit.cli import main

    assert main(["models", "--json"]) == 0
    assert DEFAULT_MODEL in {r["name"] for r in json.loads(capsys.readouterr().out)["models"]}
    assert main(["models"]) == 0
    assert "REVISION COMMIT" in capsys.readouterr().out
