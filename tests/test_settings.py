"""One schema: defaults, then hearth.toml, then HEARTH_*, then flags; bad values named."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.settings import Settings, SettingsError, load_settings


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "hearth.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    s = load_settings({"port": "9100"}, environ={"HEARTH_HOST": "::"}, config=config)
    assert (s.port, s.host, s.log_level) == (9100, "::", "debug")
    assert load_settings(environ={}, config=config).port == 9000
    assert load_settings(environ={}).port == Settings().port == 8080


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text(f'data = "{tmp_path / "d"}"\n')
    assert load_settings(environ={"HEARTH_CONFIG": str(config)}).data == tmp_path / "d"


def test_system_folder_defaults_into_the_data_folder(tmp_path: Path) -> None:
    s = load_settings({"data": str(tmp_path)}, environ={})
    assert s.system == tmp_path / "system"


@pytest.mark.parametrize("flags,environ,toml,words", [
    ({"port": "http"}, {}, "", "setting 'port' (from --port): 'http' is not a whole number"),
    ({}, {"HEARTH_PORT": "70000"}, "", "setting 'port' (from HEARTH_PORT): 70000 is out of range"),
    ({}, {"HEARTH_LOG_LEVEL": "loud"}, "", "'log_level'"),
    ({}, {}, "port = true\n", "setting 'port'"),
    ({}, {}, "colour = 'red'\n", "unknown setting 'colour'"),
    ({}, {}, "port = \n", "not valid TOML"),
])
def test_invalid_settings_are_named(tmp_path: Path, flags: dict[str, str],
                                    environ: dict[str, str], toml: str, words: str) -> None:
    config = tmp_path / "hearth.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as err:
        load_settings(flags, environ=environ, config=config)
    assert words in str(err.value)
