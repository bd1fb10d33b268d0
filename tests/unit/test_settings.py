from __future__ import annotations

from pathlib import Path

import pytest

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.settings import load_settings


def test_defaults_are_under_dot_hib_in_the_working_directory(tmp_path: Path) -> None:
    s = load_settings({}, cwd=tmp_path)
    assert s.home == tmp_path / ".hib"
    assert s.db_url == f"sqlite:///{tmp_path / '.hib' / 'hib.db'}"
    assert s.config_store == tmp_path / ".hib" / "configs"
    assert s.image_store == str(tmp_path / ".hib" / "images")
    assert s.policy_file == tmp_path / "hib.yml"
    assert s.image_store_is_local
    assert s.log_format == "text"


def test_hib_home_moves_every_derived_path(tmp_path: Path) -> None:
    s = load_settings({"HIB_HOME": "state"}, cwd=tmp_path)
    assert s.home == tmp_path / "state"
    assert s.config_store == tmp_path / "state" / "configs"
    assert s.db_url.endswith(str(tmp_path / "state" / "hib.db"))
    assert s.lab_dir == tmp_path / "state" / "lab"


def test_explicit_overrides_win(tmp_path: Path) -> None:
    env = {
        "HIB_HOME": str(tmp_path / "h"),
        "HIB_DB_URL": "postgresql+psycopg://u@127.0.0.1:5432/hib",
        "HIB_CONFIG_STORE": str(tmp_path / "cfg"),
        "HIB_IMAGE_STORE": "s3://bucket/prefix",
        "HIB_POLICY_FILE": str(tmp_path / "p.yml"),
        "HIB_LOG_FORMAT": "JSON",
    }
    s = load_settings(env, cwd=tmp_path)
    assert s.db_url == "postgresql+psycopg://u@127.0.0.1:5432/hib"
    assert s.config_store == tmp_path / "cfg"
    assert s.image_store == "s3://bucket/prefix"
    assert not s.image_store_is_local
    assert s.policy_file == tmp_path / "p.yml"
    assert s.log_format == "json"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"HIB_LOG_FORMAT": "xml"}, "HIB_LOG_FORMAT"),
        ({"HIB_LOG_LEVEL": "loud"}, "HIB_LOG_LEVEL"),
        ({"HIB_DB_URL": "not a url"}, "HIB_DB_URL"),
    ],
)
def test_bad_values_raise_config_error_naming_the_variable(
    tmp_path: Path, env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env, cwd=tmp_path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
