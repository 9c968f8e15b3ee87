"""Secret references: `env:NAME` and `file:PATH` resolve; the value never shows in messages or reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load, load_file
from config.secrets import SecretError, resolve_secret

TOKEN = "s3cr3t-t0ken-value"


def test_env_reference_reads_the_variable(tmp_path: Path) -> None:
    secret = resolve_secret("env:OPS_TOKEN", base_dir=tmp_path, environ={"OPS_TOKEN": TOKEN})

    assert secret.reveal() == TOKEN
    assert secret.reference == "env:OPS_TOKEN"


def test_file_reference_is_relative_to_the_base_dir_and_loses_its_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text(TOKEN + "\n", encoding="utf-8")

    secret = resolve_secret("file:secrets/token", base_dir=tmp_path, environ={})

    assert secret.reveal() == TOKEN


def test_file_reference_may_be_absolute_and_only_one_newline_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"line one\nline two\r\n")

    secret = resolve_secret(f"file:{path}", base_dir=Path("/nonexistent"), environ={})

    assert secret.reveal() == "line one\nline two"


@pytest.mark.parametrize(
    ("ref", "environ", "message"),
    [
        ("env:OPS_TOKEN", {}, "environment variable OPS_TOKEN is not set"),
        ("env:OPS_TOKEN", {"OPS_TOKEN": ""}, "environment variable OPS_TOKEN is empty"),
        ("xyz", {}, "is not a secret reference (use env:NAME or file:PATH); the value is not shown"),
        ("env:", {}, "is not a secret reference (use env:NAME or file:PATH); the value is not shown"),
        ("env:NOT-A-NAME", {}, "is not a secret reference (use env:NAME or file:PATH); the value is not shown"),
        ("file:", {}, "is not a secret reference (use env:NAME or file:PATH); the value is not shown"),
        ("ENV:OPS_TOKEN", {}, "is not a secret reference (use env:NAME or file:PATH); the value is not shown"),
    ],
)
def test_unresolvable_references_say_why(ref: str, environ: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        resolve_secret(ref, base_dir=tmp_path, environ=environ)

    assert str(caught.value) == message


def test_missing_secret_file_names_the_resolved_path_and_the_os_reason(tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        resolve_secret("file:nope/token", base_dir=tmp_path, environ={})

    assert str(caught.value) == f"cannot read secret file {tmp_path / 'nope' / 'token'}: No such file or directory"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "secret file {path} is empty"), (b"\n", "secret file {path} is empty")],
)
def test_empty_secret_file_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)

    with pytest.raises(SecretError) as caught:
        resolve_secret("file:token", base_dir=tmp_path, environ={})

    assert str(caught.value) == reason.format(path=path)


def test_undecodable_secret_file_error_quotes_no_byte_of_it(tmp_path: Path) -> None:
    (tmp_path / "token").write_bytes(b"abc\xfe\xffdef")

    with pytest.raises(SecretError) as caught:
        resolve_secret("file:token", base_dir=tmp_path, environ={})

    assert str(caught.value) == f"cannot read secret file {tmp_path / 'token'}: not valid UTF-8"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


CONFIG_WITH_TOKEN = "console:\n  metrics_token: {ref}\ndevices: []\n"


def test_loaded_token_resolves_from_the_environment_and_never_shows_in_repr() -> None:
    config = load(CONFIG_WITH_TOKEN.format(ref="env:OPS_TOKEN"), environ={"OPS_TOKEN": TOKEN})

    assert config.console.metrics_token is not None
    assert config.console.metrics_token.reveal() == TOKEN
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert TOKEN not in config.console.model_dump_json()
    assert "env:OPS_TOKEN" in repr(config)


def test_loaded_token_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    path = tmp_path / "console.yaml"
    path.write_text(CONFIG_WITH_TOKEN.format(ref="file:token"), encoding="utf-8")

    config = load_file(path, environ={})

    assert config.console.metrics_token is not None
    assert config.console.metrics_token.reveal() == TOKEN
    assert TOKEN not in repr(config)


def test_a_resolved_token_never_shows_in_the_errors_of_an_invalid_config() -> None:
    text = "console:\n  metrics_token: env:OPS_TOKEN\n  language: fr\ndevices: []\n"

    with pytest.raises(ConfigError) as caught:
        load(text, environ={"OPS_TOKEN": TOKEN})

    assert str(caught.value) == '<string>:3: console.language: "fr" is not one of ja, en'
    assert TOKEN not in repr(caught.value.problems)


def test_unset_token_variable_is_a_config_problem_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load(CONFIG_WITH_TOKEN.format(ref="env:X"), source="console.yaml", environ={})

    assert str(caught.value) == "console.yaml:2: console.metrics_token: environment variable X is not set"
