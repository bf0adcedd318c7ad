import pytest

from workbench import config as cfg
from workbench.rl.ppo import PPOConfig
from workbench.rl.run_config import RunConfig


def test_dotted_overrides_reach_nested_fields_and_keep_the_original():
    base = RunConfig()
    changed = cfg.override(base, ["ppo.lr=1e-3", "scene=Walk", "ppo.hidden=(32, 32)"])
    assert changed.ppo.lr == 1e-3 and changed.scene == "Walk" and changed.ppo.hidden == (32, 32)
    assert base.ppo.lr == PPOConfig().lr  # configs are not mutated
    # One number for a tuple of sizes is a one-element tuple, as 64,64 is two.
    assert cfg.override(base, ["ppo.hidden=32"]).ppo.hidden == (32,)
    assert cfg.override(base, ["ppo.hidden=64,64"]).ppo.hidden == (64, 64)


def test_unknown_field_lists_the_known_ones():
    with pytest.raises(cfg.ConfigError, match="no field 'lrate'.*lr"):
        cfg.override(PPOConfig(), ["lrate=1"])


def test_type_mismatch_is_reported():
    with pytest.raises(cfg.ConfigError, match="expects int"):
        cfg.override(PPOConfig(), ["num_envs=many"])


def test_an_optional_field_is_set_and_set_back_to_none():
    rising = cfg.override(RunConfig(), ["ppo.gamma_final=0.98"])
    assert rising.ppo.gamma_final == 0.98
    assert cfg.override(rising, ["ppo.gamma_final=none"]).ppo.gamma_final is None
    with pytest.raises(cfg.ConfigError, match="gamma expects float"):  # not optional
        cfg.override(PPOConfig(), ["gamma=none"])
    assert cfg.optional_type(float | None) == (float, True)
    assert cfg.optional_type(int | str) == (int | str, False)


def test_round_trip_through_a_dict():
    config = cfg.override(RunConfig(), ["ppo.total_steps=123"])
    assert cfg.from_dict(RunConfig, cfg.to_dict(config)) == config


def test_the_differences_from_a_reference_are_the_assignments_that_make_the_config():
    reference = RunConfig(scene="Push")
    config = cfg.override(reference, [
        "reward=reference", "curriculum=true", "goal=push it, then stop", "ppo.lr=0.001",
        "ppo.hidden=32,32", "ppo.gamma_final=0.98", "online.preference.members=5",
        "online.preference.inputs=hand_to_cube,cube_to_target"])
    changed = cfg.differences(config, reference)
    assert "curriculum=true" in changed and "online.preference.members=5" in changed
    assert cfg.override(reference, changed) == config
    assert cfg.differences(config, config) == []
    unset = cfg.differences(reference, config)  # back to the defaults, None included
    assert "ppo.gamma_final=none" in unset and cfg.override(config, unset) == reference


def test_help_text_comes_from_field_metadata():
    assert "learning rate" in cfg.help_for(PPOConfig, "lr")


def test_a_tuple_of_names_can_be_given_comma_separated():
    from workbench.rewards.progress import ProgressConfig

    changed = cfg.override(ProgressConfig(), ["inputs=hand_to_cube, cube_to_target"])
    assert changed.inputs == ("hand_to_cube", "cube_to_target")
    assert cfg.override(changed, ["inputs="]).inputs == ()


def test_values_from_a_form_or_the_cli_are_checked_together_not_one_by_one():
    # takeovers alone is refused for a PPO run; with algorithm=sac in the same change it is not
    values = {"takeovers": True, "algorithm": "sac", "sac.total_steps": 1_000}
    config = cfg.with_values(RunConfig(), values)
    assert config.takeovers and config.algorithm == "sac" and config.sac.total_steps == 1_000
    with pytest.raises(cfg.ConfigError, match="takeovers"):
        cfg.with_values(RunConfig(), {"takeovers": True})
    with pytest.raises(cfg.ConfigError, match="no field 'nope'"):
        cfg.with_values(RunConfig(), {"sac.nope": 1})
    with pytest.raises(cfg.ConfigError, match="not a nested config"):
        cfg.with_values(RunConfig(), {"scene.x": 1})


def test_a_head_gain_without_orthogonal_initialisation_is_refused_in_one_line():
    """torch's default initialisation has no gain to set: the option would be ignored."""
    with pytest.raises(cfg.ConfigError, match="policy_head_gain scales an orthogonal output"):
        PPOConfig(orthogonal_init=False, policy_head_gain=0.0)
    assert PPOConfig(policy_head_gain=0.0).policy_head_gain == 0.0
