"""Config loading and validation against the target's signature; --set and --smoke; the registry's ids."""

from __future__ import annotations

import dataclasses
from typing import Literal, Optional

import pytest

from conftest import FAKE_EXPERIMENTS, GOOD_CONFIG, write
from lstm_hist import registry
from lstm_hist.config import apply_overrides, apply_smoke, check_type, load_config, validate_config
from lstm_hist.errors import ConfigError, UserError

EXP = FAKE_EXPERIMENTS["adding"]


def load_text(tmp_path, text, name="row.yaml"):
    return load_config(write(tmp_path / name, text))


def test_good_config_loads_and_validates(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG)
    validate_config(cfg, EXP, "row.yaml")
    assert cfg["protocol"]["trials"] == 10
    assert cfg["reported"]["weights"] == 28


def test_malformed_yaml_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"bad\.yaml: malformed YAML at line 3"):
        load_text(tmp_path, "experiment: adding\ntask: {T: 10\nmodel: [\n", name="bad.yaml")


def test_unknown_top_level_key_suggests(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown top-level key 'protocl'.*did you mean 'protocol'"):
        load_text(tmp_path, GOOD_CONFIG + "protocl: {}\n")


def test_unknown_block_key_names_file_key_and_suggestion(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG.replace("max_sequences: 5000", "max_sequence: 5000"))
    with pytest.raises(ConfigError) as info:
        validate_config(cfg, EXP, tmp_path / "row.yaml")
    message = str(info.value)
    assert "row.yaml" in message and "'protocol.max_sequence'" in message and "'max_sequences'" in message


def test_positional_params_are_not_config_keys(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG.replace("T: 10,", "T: 10, rng: 3,"))
    with pytest.raises(ConfigError, match="task.rng"):
        validate_config(cfg, EXP, "row.yaml")


@pytest.mark.parametrize(
    "old, new, key, expected",
    [
        ("trials: 10", "trials: ten", "protocol.trials", "int"),
        ("trials: 10", "trials: 10.0", "protocol.trials", "int"),
        ("trials: 10", "trials: true", "protocol.trials", "int"),
        ("learning_rate: 0.5", "learning_rate: yes", "protocol.learning_rate", "float"),
        ("activation: tanh", "activation: relu", "model.activation", "one of 'sigmoid', 'tanh'"),
        ("noise: 0.1", "noise: [0.1]", "task.noise", "float"),
    ],
)
def test_wrong_type_names_key_expected_and_received(tmp_path, old, new, key, expected):
    cfg = load_text(tmp_path, GOOD_CONFIG.replace(old, new))
    with pytest.raises(ConfigError) as info:
        validate_config(cfg, EXP, "row.yaml")
    message = str(info.value)
    assert f"'{key}' must be {expected}" in message and "got" in message and "row.yaml" in message


def test_int_is_accepted_for_float(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG.replace("learning_rate: 0.5", "learning_rate: 1"))
    validate_config(cfg, EXP, "row.yaml")


def test_missing_required_key(tmp_path):
    @dataclasses.dataclass
    class Needs:
        trials: int

    exp = dataclasses.replace(EXP, protocol=Needs)
    cfg = load_text(tmp_path, GOOD_CONFIG.replace("protocol: {trials: 10, max_sequences: 5000, learning_rate: 0.5}",
                                                  "protocol: {}"))
    with pytest.raises(ConfigError, match="missing key.*protocol.trials"):
        validate_config(cfg, exp, "row.yaml")


@pytest.mark.parametrize(
    "value, annotation, ok",
    [
        (3, int, True), (True, int, False), (3, bool, False), (False, bool, True), (2, float, True),
        ([1.0, 2], list[float], True), ([1, "a"], list[int], False), (["a"], list[str], True),
        (None, Optional[int], True), (None, int | None, True), ("x", int | None, False),
        ([1, 2], tuple[int, int], True), ([1, 2, 3], tuple[int, int], False), ([1, 2, 3], tuple[int, ...], True),
        ("a", Literal["a", "b"], True), ("c", Literal["a", "b"], False), (1, Literal[True], False),
        ({"a": 1}, dict[str, int], True), ("s", str, True), (1, str, False),
    ],
)
def test_check_type(value, annotation, ok):
    assert check_type(value, annotation) is ok


def test_smoke_merges_same_nesting(tmp_path):
    cfg = apply_smoke(load_text(tmp_path, GOOD_CONFIG))
    assert cfg["protocol"] == {"trials": 2, "max_sequences": 300, "learning_rate": 0.5}
    assert "smoke" not in cfg


def test_smoke_block_is_validated_too(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG.replace("trials: 2,", "trails: 2,"))
    with pytest.raises(ConfigError, match="smoke.protocol.trails"):
        validate_config(cfg, EXP, "row.yaml")


def test_smoke_without_block_is_an_error(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG.split("smoke:")[0])
    with pytest.raises(ConfigError, match="no 'smoke:' block"):
        apply_smoke(cfg)


def test_set_parses_yaml_and_revalidates(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG)
    out = apply_overrides(cfg, ["protocol.trials=3", "task.noise=0.25"], experiment=EXP)
    assert out["protocol"]["trials"] == 3 and out["task"]["noise"] == 0.25
    assert cfg["protocol"]["trials"] == 10  # the input is not modified
    with pytest.raises(ConfigError, match="'protocol.trials' must be int"):
        apply_overrides(cfg, ["protocol.trials=many"], experiment=EXP)


def test_set_accepts_a_default_parameter_absent_from_the_file(tmp_path):
    cfg = load_text(tmp_path, GOOD_CONFIG)
    out = apply_overrides(cfg, ["protocol.behaviour=crash"], experiment=EXP)
    assert out["protocol"]["behaviour"] == "crash"


@pytest.mark.parametrize("item", ["protocol.trails=3", "protocl.trials=3", "nothing=1"])
def test_set_on_missing_key_fails(tmp_path, item):
    cfg = load_text(tmp_path, GOOD_CONFIG)
    with pytest.raises(ConfigError, match="unknown key .* for --set"):
        apply_overrides(cfg, [item], experiment=EXP)


def test_set_without_equals_fails(tmp_path):
    with pytest.raises(ConfigError, match="expected key.path=value"):
        apply_overrides(load_text(tmp_path, GOOD_CONFIG), ["protocol.trials"])


# ------------------------------------------------------------------------------------------------ registry


def test_registry_resolves_full_id_and_suffix(configs):
    assert registry.all_ids() == ["fakepaper/adding_t10", "fakepaper/adding_t20"]
    assert registry.resolve_id("fakepaper/adding_t20") == "fakepaper/adding_t20"
    assert registry.resolve_id("adding_t10") == "fakepaper/adding_t10"


def test_registry_unknown_id_suggests(configs):
    with pytest.raises(UserError, match="did you mean.*adding_t10"):
        registry.resolve_id("adding_t1O")


def test_registry_ambiguous_suffix(configs):
    write(configs / "otherpaper" / "adding_t10.yaml", GOOD_CONFIG)
    with pytest.raises(UserError, match="ambiguous"):
        registry.resolve_id("adding_t10")


def test_registry_load_returns_validated_config(configs):
    full, path, exp, cfg = registry.load("adding_t10")
    assert full == "fakepaper/adding_t10" and exp is EXP and path.name == "adding_t10.yaml"
    assert registry.get_experiment("adding_t20") is EXP


def test_registry_unknown_experiment_name(configs):
    write(configs / "fakepaper" / "broken.yaml", GOOD_CONFIG.replace("experiment: adding", "experiment: adder"))
    with pytest.raises(UserError, match="'adder' is not in reproductions.fakepaper.EXPERIMENTS"):
        registry.get_experiment("broken")


def test_list_reads_yaml_only(configs):
    entries = registry.list_experiments()
    assert [e["id"] for e in entries] == ["fakepaper/adding_t10", "fakepaper/adding_t20"]
    assert entries[0]["reported"]["weights"] == 28
    with pytest.raises(UserError, match="no experiments for paper"):
        registry.list_experiments("nopaper")


COMPARISONS_CONFIG = GOOD_CONFIG.replace(
    "reported: {success_rate: 1.0, sequences_mean: 2000, weights: 28}",
    "reported:\n  success_rate: 1.0\n  comparisons:\n    - {method: RTRL, weights: \"≈170\", success_after: \">200,000\"}\n",
)


def test_comparisons_are_kept_apart_from_the_paper_metrics(tmp_path):
    from lstm_hist.config import comparisons, paper_metrics

    cfg = load_text(tmp_path, COMPARISONS_CONFIG)
    validate_config(cfg, EXP, "row.yaml")
    assert paper_metrics(cfg["reported"]) == {"success_rate": 1.0}
    assert comparisons(cfg["reported"]) == [{"method": "RTRL", "weights": "≈170", "success_after": ">200,000"}]


@pytest.mark.parametrize("block, message", [
    ("  comparisons: RTRL\n", r"reported\.comparisons' must be a non-empty list"),
    ("  comparisons:\n    - {weights: 36}\n", r"comparisons'\[0\] must be a mapping with a 'method'"),
    ("  comparisons:\n    - {method: BPTT, weights: [1, 2]}\n", r"comparisons'\[0\]\.weights must be a number or"),
])
def test_malformed_comparisons_are_refused(tmp_path, block, message):
    text = GOOD_CONFIG.replace("reported: {success_rate: 1.0, sequences_mean: 2000, weights: 28}",
                               "reported:\n  success_rate: 1.0\n" + block)
    with pytest.raises(ConfigError, match=message):
        load_text(tmp_path, text)
