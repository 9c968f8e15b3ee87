"""The effective configuration as plain data, every secret hidden: for `run_console.py export-config`
and the admin API's `GET /api/v1/status/config` (Prometheus' shape: `config_status`).

Effective means as loaded: every section of the file with its defaults filled in, paths as the
console uses them (`console.data_dir` absolute), durations in seconds. Hidden means, as Prometheus
writes its config back: every `model.Secret` becomes `SECRET_MARKER` (not its `env:`/`file:`
reference either), the password of a URL with user info becomes `user:<secret>@`, and the value of a
credential header (`security.secrets.SENSITIVE_HEADERS`) becomes the marker. Secrets are found by
walking the models, so a new secret setting is hidden without a change here.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from model import Secret
from security.secrets import SECRET_MARKER, SENSITIVE_HEADERS, url_password

if TYPE_CHECKING:
    from config import Config

__all__ = ["config_status", "export_config", "export_config_yaml"]

_NOT_SECTIONS = frozenset({"inventory", "document", "source", "base_dir"})
"""`Config` fields that are not sections of the file (the inventory is the devices seen as `model`)."""


def export_config(config: Config) -> dict[str, Any]:
    """The effective configuration, secrets hidden, as JSON-able data in the file's shape.

    The sections of the validated file (`config.document`), with the loaded values where the
    loader changed them (`console`). A `Config` built without a document gives its own sections
    (console, rule_files, alerting, ...) and no devices."""
    sections: dict[str, object] = {}
    if config.document is not None:
        sections = {key: getattr(config.document, name) for name, key in _field_keys(config.document)}
    for field in dataclasses.fields(config):
        if field.name not in _NOT_SECTIONS and (config.document is None or field.name in sections):
            sections[field.name] = getattr(config, field.name)
    exported = {key: _plain(value) for key, value in sections.items()}
    hidden: dict[str, Any] = _hide_plain_credentials(exported)
    return hidden


def export_config_yaml(config: Config) -> str:
    """`export_config` as a YAML document (UTF-8 text, keys in the file's order)."""
    return yaml.safe_dump(export_config(config), allow_unicode=True, sort_keys=False, default_flow_style=False)


def config_status(config: Config) -> dict[str, str]:
    """The `data` of Prometheus' `GET /api/v1/status/config` answer: `{"yaml": "..."}` (the route
    answers `{"status": "success", "data": config_status(config)}`)."""
    return {"yaml": export_config_yaml(config)}


def _field_keys(model: BaseModel) -> list[tuple[str, str]]:
    """(attribute name, key in the file) of each field of `model`, in order."""
    return [
        (name, field.serialization_alias or field.alias or name) for name, field in type(model).model_fields.items()
    ]


def _plain(value: object) -> Any:
    """JSON-able data for `value`, every Secret in it replaced by the marker."""
    if isinstance(value, Secret):
        return SECRET_MARKER
    if isinstance(value, BaseModel):
        return _plain_model(value)
    if isinstance(value, Mapping):
        return {to_jsonable_python(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return to_jsonable_python(value, fallback=str)


def _plain_model(model: BaseModel) -> dict[str, Any]:
    """A model field by field: a field holding models or secrets is walked; any other field is
    serialized by pydantic, so its own serializer (matchers as text, ...) is used."""
    out: dict[str, Any] = {}
    for name, key in _field_keys(model):
        value = getattr(model, name)
        if _needs_walk(value):
            out[key] = _plain(value)
        else:
            out[key] = model.model_dump(mode="json", include={name}, by_alias=True)[key]
    return out


def _needs_walk(value: object) -> bool:
    if isinstance(value, Secret | BaseModel):
        return True
    if isinstance(value, Mapping):
        return any(_needs_walk(item) for item in value.values())
    if isinstance(value, tuple | list | set | frozenset):
        return any(_needs_walk(item) for item in value)
    return False


def _hide_plain_credentials(data: Any) -> Any:
    """`data` (JSON-able) with URL passwords and credential header values replaced by the marker."""
    if isinstance(data, str):
        return _hide_url_password(data)
    if isinstance(data, list):
        return [_hide_plain_credentials(item) for item in data]
    if isinstance(data, dict):
        return {
            key: SECRET_MARKER
            if isinstance(key, str) and key.lower() in SENSITIVE_HEADERS and isinstance(item, str)
            else _hide_plain_credentials(item)
            for key, item in data.items()
        }
    return data


def _hide_url_password(text: str) -> str:
    if not url_password(text):
        return text
    parts = urllib.parse.urlsplit(text)
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{SECRET_MARKER}@{host}"))
