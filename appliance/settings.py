"""One declarative settings schema: hearth.toml, HEARTH_* environment, CLI flags."""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYSTEM_CONFIG = Path("/etc/hearth/hearth.toml")


class SettingsError(ValueError):
    """A setting has a value Hearth cannot use; the message names it."""


def default_data_dir() -> Path:
    """Return the embedded default data folder: $XDG_DATA_HOME/hearth."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hearth"


def _setting(help: str, default: Any = dataclasses.MISSING, *, flag: str = "",
             choices: tuple[str, ...] = (), low: int | None = None, high: int | None = None,
             default_factory: Callable[[], Any] | None = None) -> Any:
    meta = {"help": help, "flag": flag, "choices": choices, "low": low, "high": high}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Every setting of the box, with its default and help text."""

    data: Path = _setting(
        "Folder that holds the owner's data (files/, store/) and, with no system "
        "disk, the box's own files (system/).", flag="DIR", default_factory=default_data_dir)
    host: str = _setting("Address to listen on; 0.0.0.0 or :: to serve the whole LAN.",
                         "localhost", flag="HOST")
    port: int = _setting("TCP port of the web interface.", 8080, flag="N", low=1, high=65535)
    https_port: int = _setting("TCP port of the HTTPS interface (the box's own certificate); "
                               "0 turns HTTPS off.", 8443, flag="N", low=0, high=65535)
    log_level: str = _setting("How much to log.", "info", flag="LEVEL",
                              choices=("debug", "info", "warning", "error"))
    system_dir: Path | None = _setting(
        "Folder for the box's own secrets and state (keyring, TLS keys); "
        "defaults to DATA/system.", None, flag="DIR")
    helper_socket: Path | None = _setting(
        "Socket of the privileged disk helper (hearth-helper.socket); leave unset on a "
        "developer's machine, where the data stays in its folder.", None, flag="PATH")
    allowed_hosts: tuple[str, ...] = _setting(
        "More host names the box answers to, besides NAME.local, hearth.local, localhost "
        "and its own addresses (e.g. a name your router gives it); every other Host is "
        "refused, so that no web page can reach the box through a name of its own. In "
        "the environment: names separated by commas.", (), flag="NAMES")
    max_body_kb: int = _setting("Largest JSON body the data API accepts, in KiB.", 1024,
                                flag="KIB", low=1, high=1024 * 1024)
    session_days: int = _setting("Days a login stays valid without being used.", 30,
                                 flag="DAYS", low=1, high=3650)
    session_lifetime_days: int = _setting(
        "Days a login lasts at most after signing in, however often it is used.", 90,
        flag="DAYS", low=1, high=3650)
    max_connector_runs: int = _setting(
        "How many connectors may run at the same time (1 suits a Raspberry Pi).", 1,
        flag="N", low=1, high=16)
    connector_max_mb: int = _setting(
        "Most memory (address space, MiB) a connector's process may use; a connector may "
        "ask for less, never more.", 1024, flag="MIB", low=32, high=4096)
    connector_max_minutes: int = _setting(
        "Longest a connector's run may last, in minutes; a connector may ask for less.", 60,
        flag="MIN", low=1, high=360)
    connector_max_processes: int = _setting(
        "Most processes and threads a connector's run may have at once.", 16, flag="N",
        low=2, high=256)
    woob_repository: str = _setting(
        "Where woob modules are installed from: the address of a woob repository "
        "(woob's own by default).", "https://updates.woob.tech/%(version)s/main/",
        flag="URL")
    update_keys: Path = _setting(
        "Folder of the public keys updates must be signed with (*.pem); without it the "
        "box takes no update from the web page.", Path("/etc/hearth/update-keys"), flag="DIR")
    update_status: Path = _setting(
        "Status file of the box's updater (hearth-update.service), read to show how the "
        "last update went.", Path("/var/lib/hearth-update/status.json"), flag="PATH")

    @property
    def system(self) -> Path:
        """Return the folder of the box's own files (keyring, TLS, state)."""
        return self.system_dir if self.system_dir is not None else self.data / "system"


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def env_name(name: str) -> str:
    """Return the environment variable that sets a setting."""
    return "HEARTH_" + name.upper()


def _convert(name: str, raw: Any, source: str) -> Any:
    spec = FIELDS[name]
    meta = spec.metadata
    where = f"setting '{name}' (from {source})"
    kind = str(spec.type)  # annotations are strings under postponed evaluation
    try:
        if "int" in kind:
            if isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip().lstrip("-").isdigit()):
                raise ValueError
            value: Any = int(raw)
            if meta["low"] is not None and value < meta["low"] or \
               meta["high"] is not None and value > meta["high"]:
                raise SettingsError(f"{where}: {value} is out of range "
                                    f"{meta['low']}–{meta['high']}")
            return value
        if "tuple" in kind:
            names = [n for n in raw.split(",") if n.strip()] if isinstance(raw, str) else raw
            if not isinstance(names, (list, tuple)) or \
                    not all(isinstance(n, str) and n.strip() for n in names):
                raise ValueError
            return tuple(n.strip().lower().rstrip(".") for n in names if n.strip())
        if "Path" in kind:
            if not isinstance(raw, (str, Path)) or not str(raw).strip():
                raise ValueError
            return Path(str(raw)).expanduser()
        if not isinstance(raw, str):
            raise ValueError
        if meta["choices"] and raw.lower() not in meta["choices"]:
            raise SettingsError(f"{where}: {raw!r} is not one of {', '.join(meta['choices'])}")
        return raw.lower() if meta["choices"] else raw
    except SettingsError:
        raise
    except (ValueError, TypeError):
        expected = "a whole number" if "int" in kind else "a path" if "Path" in kind \
            else "a list of names" if "tuple" in kind else "text"
        raise SettingsError(f"{where}: {raw!r} is not {expected}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Return the settings found in a hearth.toml file."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"can't read {path}: {exc.strerror}") from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SettingsError(f"{path}: unknown setting '{unknown[0]}' "
                            f"(known: {', '.join(FIELDS)})")
    return data


def load_settings(flags: Mapping[str, Any] | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  config: Path | None = None) -> Settings:
    """Return the settings from defaults, then hearth.toml, then HEARTH_*, then flags."""
    environ = os.environ if environ is None else environ
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    if config is None and environ.get("HEARTH_CONFIG"):
        config = Path(environ["HEARTH_CONFIG"])
    elif config is None and SYSTEM_CONFIG.exists():
        config = SYSTEM_CONFIG
    values: dict[str, Any] = {}
    if config is not None:
        for name, raw in read_config_file(config).items():
            values[name] = _convert(name, raw, str(config))
    for name in FIELDS:
        if env_name(name) in environ:
            values[name] = _convert(name, environ[env_name(name)], env_name(name))
    for name, raw in flags.items():
        if name not in FIELDS:
            raise SettingsError(f"unknown setting '{name}'")
        values[name] = _convert(name, raw, "--" + name.replace("_", "-"))
    return Settings(**values)


def describe() -> list[tuple[str, str, str, str]]:
    """Return (name, environment variable, default, help) for every setting."""
    rows = []
    for name, spec in FIELDS.items():
        default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING \
            else spec.default
        shown = ", ".join(default) if isinstance(default, tuple) else \
            "" if default is None else str(default)
        rows.append((name, env_name(name), shown,
                     str(spec.metadata["help"])))
    return rows
