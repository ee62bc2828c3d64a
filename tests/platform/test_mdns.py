"""mDNS for real: boxes announce in their own network namespaces, a browser asks from another.

The namespaces make a small home network: the browser's computer carries the switch
(a bridge) and every box plugs into it with a veth pair. Nothing multicasts in the
main namespace. Needs root and iproute2's `ip netns`; skipped otherwise.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from appliance.platform.announcer import Announcer, NullAnnouncer, watch_addresses
from appliance.platform.network import host_label

logger = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
HTTP, HTTPS = "_http._tcp.local.", "_https._tcp.local."
BROWSER_HOST = 254
T = TypeVar("T")


def v4(host: int) -> str:
    """Return the lab's IPv4 address for a host number."""
    return f"10.99.0.{host}"


def v6(host: int) -> str:
    """Return the lab's IPv6 ULA address for a host number."""
    return f"fd99::{host}"


def ip(*args: str) -> None:
    """Run `ip ARGS`, raising with its message if it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Agent:
    """A helper process in a namespace, answering one JSON line per command."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name, self.process, self.log = name, process, log
        self.timings: list[tuple[str, float]] = []

    async def ask(self, do: str, **arguments: Any) -> dict[str, Any]:
        """Send a command and return the reply; fail with the process's log on error."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"do": do, **arguments}).encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        reply: dict[str, Any] = json.loads(line) if line else {"error": "the process exited"}
        if "error" in reply:
            raise AssertionError(f"{self.name}: {do}: {reply['error']}\n{self.log.read_text()}")
        self.timings.append((do, reply.pop("seconds")))
        return reply

    async def close(self) -> None:
        """Let the process finish (a box says goodbye), killing it if it hangs."""
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class Lab:
    """Network namespaces named with a random tag, and the agents started in them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tag = secrets.token_hex(3)
        self.namespaces: list[str] = []
        self.agents: list[Agent] = []
        self.switch = ""
        self._browser: Agent | None = None

    def build(self) -> None:
        """Make the browser's namespace with the bridge every box plugs into."""
        self.switch = self.namespace("browser")
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        self.add_address(self.switch, BROWSER_HOST, device="br0")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def namespace(self, role: str) -> str:
        """Create an empty namespace with loopback up and no IPv6 duplicate-address delay."""
        name = f"hearth-{role}-{self.tag}"
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def plug(self, role: str, host: int | None) -> str:
        """Return a new namespace whose eth0 is plugged into the switch, with host's addresses."""
        name = self.namespace(role)
        port = f"to-{role}"
        ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", port,
           "netns", self.switch)
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        if host is not None:
            self.add_address(name, host)
        ip("-n", name, "link", "set", "eth0", "up")
        return name

    def add_address(self, namespace: str, host: int, device: str = "eth0") -> None:
        """Give a device host's IPv4 and IPv6 addresses."""
        ip("-n", namespace, "addr", "add", f"{v4(host)}/24", "dev", device)
        ip("-n", namespace, "addr", "add", f"{v6(host)}/64", "dev", device, "nodad")

    def remove_address(self, namespace: str, host: int, device: str = "eth0") -> None:
        """Take host's IPv4 and IPv6 addresses off a device."""
        ip("-n", namespace, "addr", "del", f"{v4(host)}/24", "dev", device)
        ip("-n", namespace, "addr", "del", f"{v6(host)}/64", "dev", device)

    async def spawn(self, namespace: str, script: str) -> Agent:
        """Start tests/platform/mdns_scripts/<script>.py inside a namespace."""
        log = self.tmp / f"{namespace}-{script}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", namespace, sys.executable, "-m",
                f"tests.platform.mdns_scripts.{script}", cwd=REPO, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr)
        agent = Agent(f"{script} in {namespace}", process, log)
        self.agents.append(agent)
        return agent

    async def box(self, role: str, host: int | None) -> tuple[Agent, str]:
        """Plug a new box in and return its agent and namespace."""
        namespace = self.plug(role, host)
        return await self.spawn(namespace, "box"), namespace

    async def browser(self) -> Agent:
        """Return the browser's agent (started once, after a box is plugged in)."""
        if self._browser is None:
            self._browser = await self.spawn(self.switch, "browser")
        return self._browser

    async def close(self) -> None:
        """Stop every agent, then delete every namespace (and with them the links)."""
        for agent in self.agents:
            await agent.close()
            logger.info("%s took %s", agent.name,
                        ", ".join(f"{do} {seconds:.2f} s" for do, seconds in agent.timings))
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    """A fresh lab network, always taken down, even when the test fails."""
    if os.geteuid() != 0:
        pytest.skip("mDNS tests need root to create network namespaces")
    if shutil.which("ip") is None:
        pytest.skip("mDNS tests need iproute2's `ip` command for network namespaces")
    built = Lab(tmp_path)
    try:
        try:
            built.build()
        except RuntimeError as exc:
            if len(built.namespaces) > 1:
                raise
            pytest.skip(f"can't set up network namespaces here ({exc})")
        yield built
    finally:
        await built.close()


async def eventually(ask: Callable[[], Awaitable[T]], done: Callable[[T], bool],
                     within: float = 8.0) -> T:
    """Ask again until `done` holds or time is up; return the last answer either way."""
    deadline = time.monotonic() + within
    while True:
        answer = await ask()
        if done(answer) or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def resolve(browser: Agent, host: str, expected: set[str]) -> list[str]:
    """Return the addresses the browser gets for `host`, waiting a while for `expected`."""
    async def ask() -> list[str]:
        return list((await browser.ask("resolve", host=host))["addresses"])
    return await eventually(ask, lambda found: set(found) == expected)


def start(name: str = "hearth", https_port: int | None = None) -> dict[str, Any]:
    """Return the arguments of a box's start command."""
    return {"name": name, "http_port": 8080, "https_port": https_port, "version": "1.2.3"}


@pytest.mark.parametrize("https_port", [None, 8443])
async def test_a_computer_finds_the_box_by_name_and_its_web_service(
        lab: Lab, https_port: int | None) -> None:
    box, _ = await lab.box("a", 1)
    state = await box.ask("start", **start(https_port=https_port))
    assert (state["hostname"], state["conflict"], state["warnings"]) == ("hearth", None, [])
    browser = await lab.browser()

    assert await resolve(browser, "hearth.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]
    web = await browser.ask("service", type=HTTP, name=f"Hearth.{HTTP}")
    assert web == {"found": True, "port": 8080, "server": "hearth.local.",
                   "properties": {"path": "/", "version": "1.2.3"},
                   "addresses": [v4(1), v6(1)]}
    secure = await browser.ask("service", type=HTTPS, name=f"Hearth.{HTTPS}", timeout_ms=1500)
    if https_port is None:
        assert secure == {"found": False}
    else:
        assert secure == {**web, "port": 8443}


async def test_a_second_box_with_the_same_name_becomes_name_2_and_says_so(lab: Lab) -> None:
    first, _ = await lab.box("a", 1)
    second, _ = await lab.box("c", 3)
    assert (await first.ask("start", **start()))["hostname"] == "hearth"

    state = await second.ask("start", **start())
    assert (state["hostname"], state["conflict"]) == ("hearth-2", "hearth")
    assert len(state["warnings"]) == 1
    assert "already answers to hearth.local" in state["warnings"][0]
    assert "this box is http://hearth-2.local:8080/ instead" in state["warnings"][0]
    kept = await first.ask("refresh")
    assert (kept["hostname"], kept["conflict"], kept["warnings"]) == ("hearth", None, [])

    browser = await lab.browser()
    assert await resolve(browser, "hearth.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]
    assert await resolve(browser, "hearth-2.local.", {v4(3), v6(3)}) == [v4(3), v6(3)]
    web = await browser.ask("service", type=HTTP, name=f"Hearth-2.{HTTP}")
    assert (web["server"], web["addresses"]) == ("hearth-2.local.", [v4(3), v6(3)])
    again = await second.ask("refresh")
    assert (again["hostname"], len(again["warnings"])) == ("hearth-2", 1)  # logged once


@pytest.mark.parametrize("held", [
    {"type": "_ssh._tcp.local.", "name": "Laptop._ssh._tcp.local.", "server": "hearth.local."},
    {"type": HTTP, "name": f"Hearth.{HTTP}", "server": "nas.local."},
], ids=["a computer named hearth", "a web page named Hearth"])
async def test_a_name_another_device_answers_for_is_left_to_it(
        lab: Lab, held: dict[str, str]) -> None:
    box, _ = await lab.box("a", 1)
    browser = await lab.browser()
    await browser.ask("announce", **held, address=v4(BROWSER_HOST))

    state = await box.ask("start", **start())

    assert (state["hostname"], state["conflict"]) == ("hearth-2", "hearth")
    assert await resolve(browser, "hearth-2.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]
    web = await browser.ask("service", type=HTTP, name=f"Hearth-2.{HTTP}")
    assert (web["port"], web["server"]) == (8080, "hearth-2.local.")
    theirs = await browser.ask("service", type=held["type"], name=held["name"])
    assert theirs["addresses"] == [v4(BROWSER_HOST)]  # the other device keeps its name


async def test_a_new_address_is_announced_on_refresh(lab: Lab) -> None:
    box, namespace = await lab.box("a", 1)
    await box.ask("start", **start())
    browser = await lab.browser()
    assert await resolve(browser, "hearth.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]

    lab.remove_address(namespace, 1)  # as with a new DHCP lease
    lab.add_address(namespace, 11)
    state = await box.ask("refresh")

    assert (state["hostname"], state["conflict"]) == ("hearth", None)
    assert await resolve(browser, "hearth.local.", {v4(11), v6(11)}) == [v4(11), v6(11)]
    web = await browser.ask("service", type=HTTP, name=f"Hearth.{HTTP}")
    assert web["addresses"] == [v4(11), v6(11)]


async def test_a_box_started_before_it_has_an_address_is_announced_once_it_has_one(
        lab: Lab) -> None:
    box, namespace = await lab.box("a", None)
    state = await box.ask("start", **start())
    assert state["warnings"] == ["the box has no network address; hearth.local will be "
                                 "announced as soon as it gets one"]
    assert (await box.ask("refresh"))["warnings"] == state["warnings"]  # said once

    lab.add_address(namespace, 1)
    await box.ask("refresh")

    browser = await lab.browser()
    assert await resolve(browser, "hearth.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]


async def test_browsers_drop_the_box_within_seconds_of_stop(lab: Lab) -> None:
    box, _ = await lab.box("a", 1)
    await box.ask("start", **start())
    browser = await lab.browser()
    await browser.ask("watch", type=HTTP)

    async def seen() -> list[str]:
        return list((await browser.ask("seen"))["names"])

    assert await eventually(seen, bool) == [f"Hearth.{HTTP}"]
    stopped = time.monotonic()
    await box.ask("stop")
    assert await eventually(seen, lambda names: not names, within=5.0) == []
    gone = time.monotonic() - stopped
    logger.info("the browser dropped the box %.2f s after stop() began", gone)
    assert gone < 5.0
    assert await browser.ask("service", type=HTTP, name=f"Hearth.{HTTP}",
                             timeout_ms=1000) == {"found": False}
    assert (await browser.ask("resolve", host="hearth.local."))["addresses"] == []


def test_a_name_that_cannot_be_a_host_name_is_refused_with_what_to_use() -> None:
    assert host_label(" Hearth ") == "hearth"
    for bad in ("my box", "-hearth", "hearth.local", "x" * 64, ""):
        with pytest.raises(ValueError, match="letters, digits and hyphens"):
            host_label(bad)


async def test_the_watcher_refreshes_until_the_daemon_stops_it() -> None:
    class Counting(NullAnnouncer):
        refreshes = 0

        async def refresh(self) -> None:
            self.refreshes += 1

    announcer = Counting()
    checked: Announcer = announcer
    task = asyncio.create_task(watch_addresses(checked, every=0.01))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert announcer.refreshes >= 3
    count = announcer.refreshes
    await asyncio.sleep(0.05)
    assert announcer.refreshes == count


async def test_hearth_serve_is_found_by_name_and_says_goodbye(lab: Lab, tmp_path: Path) -> None:
    namespace = lab.plug("daemon", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", namespace, sys.executable, "-m", "appliance.cli", "serve",
            "--data", str(tmp_path / "data"), "--host", "0.0.0.0", "--port", "8080",
            "--https-port", "8443", cwd=REPO, env=env, stdout=out, stderr=out)
    try:
        browser = await lab.browser()
        await browser.ask("watch", type=HTTP)

        async def seen() -> list[str]:
            return list((await browser.ask("seen"))["names"])
        assert await eventually(seen, bool, within=15.0) == [f"Hearth.{HTTP}"], log.read_text()
        assert await resolve(browser, "hearth.local.", {v4(1), v6(1)}) == [v4(1), v6(1)]
        web = await browser.ask("service", type=HTTP, name=f"Hearth.{HTTP}")
        assert web["port"] == 8080 and web["properties"]["path"] == "/"
        secure = await browser.ask("service", type=HTTPS, name=f"Hearth.{HTTPS}")
        assert secure["port"] == 8443
        daemon.terminate()
        assert await asyncio.wait_for(daemon.wait(), 5) == 0
        assert await eventually(seen, lambda names: not names, within=5.0) == []
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
