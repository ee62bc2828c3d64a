"""Install a woob module on the box from a woob repository, with woob's own machinery.

Run as `python -m services.connectors.woob_bridge.install MODULE --home DIR --repository URL`
by the account page (a child process with a time limit), and called by
`hearth connector woob-install`. Modules go to the system side (`<system>/woob/`),
never to the data disk.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

WOOB_REPOSITORY = "https://updates.woob.tech/%(version)s/main/"  # woob's own, as woob says it
MODULES_DIR = Path("/var/lib/hearth/woob/modules")  # where `woob_modules/<name>/` may be put
MODULE_NAME = re.compile(r"[a-z0-9_]{1,40}")


class InstallError(Exception):
    """A module could not be installed; the message says why and what to do."""


def woob_home(system: Path) -> Path:
    """Return the folder where the box keeps woob's repositories, keyrings and modules."""
    return system / "woob"


def installed_modules(home: Path) -> Path:
    """Return the `woob_modules` folder that modules installed under `home` land in."""
    # The distribution's metadata, not `import woob`: the daemon asks too, and stays small.
    return home / "modules" / importlib.metadata.version("woob") / "woob_modules"


def modules_dir(name: str, system: Path | None = None) -> Path | None:
    """Return the folder that holds the woob module `name`, or None if it is not on the box."""
    spec = importlib.util.find_spec("woob_modules")
    places = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    if system is not None:
        try:
            places.append(installed_modules(woob_home(system)))  # `woob-install`'s
        except importlib.metadata.PackageNotFoundError:
            pass  # no woob on the box: nothing was installed
    for place in [*places, MODULES_DIR]:
        if (place / name / "__init__.py").is_file() or (place / f"{name}.py").is_file():
            return place
    return None


class _Progress:
    """woob's progress observer: messages go to `say`, errors are kept for the report."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.errors: list[str] = []

    def progress(self, percent: float, message: str) -> None:
        self.say(message)

    def error(self, message: str) -> None:
        self.errors.append(message)
        self.say(message)

    def prompt(self, message: str) -> bool:
        # A signed repository's keyring is trusted the first time it is seen (as woob's
        # console does when answered yes); its fingerprint is in the install's output.
        self.say(message)
        return True


def install(module: str, home: Path, repository: str = WOOB_REPOSITORY,
            say: Callable[[str], None] = print) -> None:
    """Fetch `module` from `repository` and install it under `home` (blocking)."""
    if not MODULE_NAME.fullmatch(module):
        raise InstallError(f"{module!r} is not a woob module name (lowercase letters, digits, _)")
    try:  # woob is optional: its absence is told below, not met when this module loads
        import requests  # comes with woob, optional with it
        from woob import __version__  # likewise
        from woob.exceptions import ModuleInstallError  # likewise
        from woob.core.repositories import Repositories  # likewise
    except ImportError as exc:
        raise InstallError(f"woob is not installed on the box ({exc}): "
                           f"pip install 'hearthbox[woob]'") from None
    home.mkdir(parents=True, exist_ok=True)
    # Our own sources.list, written before woob looks: woob would otherwise write its
    # default one and fetch everything at once.
    (home / "sources.list").write_text(repository + "\n")
    progress = _Progress(say)
    try:
        repos = Repositories(str(home), str(home), __version__)
        repos.update_repositories(progress)
        if not repos.repositories:
            raise InstallError(f"the woob repository {repository} could not be read: "
                               f"{'; '.join(progress.errors) or 'no answer'}")
        repos.install(module, progress)
    except requests.RequestException as exc:
        raise InstallError(f"the box could not reach the woob repository {repository} "
                           f"({type(exc).__name__}); check its internet connection") from None
    except ModuleInstallError as exc:
        said = str(exc)
        if "already installed" in said:
            say(said)
            return
        if "does not exist" in said:
            raise InstallError(f"woob's repository has no module called {module!r}; "
                               f"check its name on https://woob.tech/modules") from None
        raise InstallError(f"{module} could not be installed: {said}") from None
    if not (installed_modules(home) / module / "__init__.py").is_file():
        raise InstallError(f"{module} was not installed; see the messages above")


def main(argv: list[str] | None = None) -> int:
    """Install one module; exit 0 when it is there, 1 with the reason on stderr."""
    parser = argparse.ArgumentParser(description=install.__doc__)
    parser.add_argument("module")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repository", default=WOOB_REPOSITORY)
    args: Any = parser.parse_args(argv)
    try:
        install(args.module, args.home, args.repository,
                say=lambda line: print(line, flush=True))
    except InstallError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
