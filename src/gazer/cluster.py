"""``gazer cluster up|down|status``: a whole scale-out gazer as plain processes on one machine.

One YAML file describes the stack (see ``ClusterSpec``); ``up`` starts, in order:

- PostgreSQL: gazer's database (run store, prediction log, feedback, monitoring) and MLflow's
  backend store, as two databases of one server;
- SeaweedFS as S3: gazer's storage zones and artifacts, and MLflow's artifacts;
- an MLflow tracking server on those two (``mlflow server``, artifacts served through it);
- a Ray head (no CPUs of its own: steps go to workers) and worker nodes started separately
  with ``ray start --address``;
- ``gazer serve`` replicas, and HAProxy in front with health checks on ``/readyz``, retries
  and redispatch (``gazer.serving.haproxy``).

Every process gets the same settings, which ``up`` also writes as ``DIR/gazer.env``: any
gazer command runs against the cluster with ``gazer --env-file DIR/gazer.env ...`` (or
``GAZER_ENV_FILE``). With ``namespaces: true`` (root only) each replica and each Ray worker runs
in its own network namespace with its own address on a bridge, so that ``gazer cluster cut``
can take one off the network the way a machine failure would.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from gazer.errors import GazerError, InvalidInput
from gazer.serving.haproxy import haproxy_config, haproxy_status

STATE = "cluster.json"
ENV_FILE = "gazer.env"
# SeaweedFS's own ports beside its S3 port, each set so that nothing takes a default port
WEED_PORTS = ("admin.port", "admin.port.grpc", "filer.port", "filer.port.grpc", "master.port",
              "master.port.grpc", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance",
              "volume.port", "volume.port.grpc", "webdav.port", "debug.port", "s3.debug.port")


class Ports(BaseModel):
    """Fixed ports (outside Ray's default worker range, 10002-19999). SeaweedFS takes the 14
    ports after ``s3``; replica i listens on ``serve + i`` (on one address) or on ``serve``
    (each in its own namespace); the Ray client server takes ``ray + 1``."""

    postgres: int = 25432
    s3: int = 28333
    mlflow: int = 25000
    ray: int = 26379
    haproxy: int = 28000
    serve: int = 28001


class ClusterSpec(BaseModel):
    """The stack ``gazer cluster up`` starts. Paths are relative to the file's folder."""

    model_config = {"extra": "forbid"}

    name: str = Field(default="gz", pattern=r"^[a-z][a-z0-9]{0,5}$")  # netns/interface prefix
    dir: Path = Path(".gazer-cluster")  # data, logs, the state and the env file
    address: str = "127.0.0.1"  # where services bind without namespaces
    haproxy_address: str = "127.0.0.1"  # where the load balancer listens
    namespaces: bool = False  # replicas and Ray workers each in their own network namespace
    subnet: str = Field(default="10.77.0", pattern=r"^\d{1,3}\.\d{1,3}\.\d{1,3}$")  # a /24
    ports: Ports = Ports()
    replicas: int = Field(default=2, ge=1, le=16)
    ray_workers: int = Field(default=1, ge=0, le=8)
    ray_worker_cpus: int = Field(default=2, ge=1)
    bucket: str = "gazer"
    health_check_ms: int = Field(default=500, ge=100)
    server_timeout_s: float = Field(default=30.0, gt=0)
    start_timeout_s: float = Field(default=180.0, gt=0)
    # more GAZER_* settings for every process, nested as in Settings:
    # {"serving": {"poll_interval_s": 1, "endpoints": [...]}}
    settings: dict[str, Any] = {}

    @field_validator("settings")
    @classmethod
    def _sections(cls, value: dict[str, Any]) -> dict[str, Any]:
        from gazer.settings import Settings

        unknown = sorted(set(value) - set(Settings.model_fields))
        if unknown:
            raise ValueError(f"unknown settings sections {unknown}; known: "
                             f"{sorted(Settings.model_fields)}")
        return value

    @property
    def host_address(self) -> str:
        """The address every shared service binds: the bridge's, or ``address``."""
        return f"{self.subnet}.1" if self.namespaces else self.address


def load_spec(path: Path) -> ClusterSpec:
    """Read and check a cluster file; ``dir`` becomes absolute (relative to the file)."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise InvalidInput(f"no cluster file at {path}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path} must be a mapping of settings; got {type(raw).__name__}")
    try:
        spec = ClusterSpec(**raw)
    except ValidationError as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    if not spec.dir.is_absolute():
        spec.dir = (path.resolve().parent / spec.dir).resolve()
    return spec


@dataclass
class Proc:
    """One process of the cluster, as recorded in the state file."""

    name: str
    pid: int
    address: str
    port: int
    log: str
    netns: str | None = None
    probe: str = "tcp"  # tcp, or an HTTP path that must answer 200


@dataclass
class State:
    processes: list[Proc] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # process name -> host-side veth
    bridge: str | None = None

    @staticmethod
    def load(folder: Path) -> State:
        path = folder / STATE
        if not path.exists():
            return State()
        raw = json.loads(path.read_text())
        return State([Proc(**p) for p in raw["processes"]], raw["namespaces"], raw["links"],
                     raw["bridge"])

    def save(self, folder: Path) -> None:
        tmp = folder / f".{STATE}.tmp"
        tmp.write_text(json.dumps({"processes": [asdict(p) for p in self.processes],
                                   "namespaces": self.namespaces, "links": self.links,
                                   "bridge": self.bridge}, indent=2))
        tmp.replace(folder / STATE)

    def find(self, name: str) -> Proc | None:
        return next((p for p in self.processes if p.name == name), None)


# --- the settings every process shares -------------------------------------------------------

def cluster_env(spec: ClusterSpec, keys: Mapping[str, str]) -> dict[str, str]:
    """The GAZER_* variables (and the S3 keys MLflow's clients and server read)."""
    host = spec.host_address
    p = spec.ports
    env = {
        "GAZER_HOME": str(spec.dir / "home"),
        "GAZER_RUNS__URL": f"postgresql+psycopg://postgres:{keys['postgres']}@{host}:"
                           f"{p.postgres}/gazer",
        "GAZER_STORAGE__URI": f"s3://{spec.bucket}/zones",
        "GAZER_STORAGE__ENDPOINT_URL": f"http://{host}:{p.s3}",
        "GAZER_STORAGE__KEY": keys["s3_key"],
        "GAZER_STORAGE__SECRET": keys["s3_secret"],
        "GAZER_STORAGE__REGION": "us-east-1",
        "GAZER_TRACKING__URI": f"http://{host}:{p.mlflow}",
        "GAZER_EXECUTOR__KIND": "ray",
        "GAZER_EXECUTOR__RAY_ADDRESS": f"{host}:{p.ray}",
        "GAZER_SERVING__API_KEYS": json.dumps([
            {"name": "admin", "key": keys["admin"], "scopes": ["admin"]},
            {"name": "predict", "key": keys["predict"],
             "scopes": ["predict", "feedback", "query"]}]),
        "MLFLOW_S3_ENDPOINT_URL": f"http://{host}:{p.s3}",
        "AWS_ACCESS_KEY_ID": keys["s3_key"],
        "AWS_SECRET_ACCESS_KEY": keys["s3_secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Ray's token authentication, with the cluster's own token on every node and driver
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": keys["ray"],
    }
    for section, values in spec.settings.items():
        if not isinstance(values, dict):
            env[f"GAZER_{section.upper()}"] = _env_value(values)
            continue
        for key, value in values.items():
            env[f"GAZER_{section.upper()}__{key.upper()}"] = _env_value(value)
    return env


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """A dotenv file (single-quoted values), readable by the owner only: it holds the keys."""
    lines = ["# gazer cluster settings: gazer --env-file THIS_FILE ... (written by gazer "
             "cluster up)"]
    for key, value in env.items():
        if "'" in value or "\n" in value:
            raise InvalidInput(f"setting {key} cannot hold a quote or a newline: {value!r}")
        lines.append(f"{key}='{value}'")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _keys(folder: Path) -> dict[str, str]:
    """The cluster's secrets, made once and kept (0600) so a restart keeps its keys."""
    path = folder / "keys.json"
    kept = dict(json.loads(path.read_text())) if path.exists() else {}
    keys = {"admin": secrets.token_urlsafe(32), "predict": secrets.token_urlsafe(32),
            "s3_key": "gazer", "s3_secret": secrets.token_urlsafe(24),
            "postgres": secrets.token_urlsafe(24), "ray": secrets.token_hex(32), **kept}
    if keys != kept:
        path.touch(0o600)
        path.write_text(json.dumps(keys))
    return keys


def keys_of(spec: ClusterSpec) -> dict[str, str]:
    """The admin and predict API keys (and S3 keys) of a cluster that is or was up."""
    path = spec.dir / "keys.json"
    if not path.exists():
        raise InvalidInput(f"no cluster has been started in {spec.dir}")
    return dict(json.loads(path.read_text()))


# --- processes ---------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:
        return False


def _spawn(cmd: list[str], log: Path, env: Mapping[str, str], netns: str | None = None,
           user: str | None = None) -> int:
    """Start ``cmd`` in its own session (so it outlives ``gazer cluster up`` and its whole
    process group can be stopped), as ``user`` when running as root, with output appended to
    ``log``. The pid is the command's own (no wrapper in between to signal instead)."""
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    as_user: dict[str, Any] = {}
    if user and os.geteuid() == 0:
        as_user = {"user": user, "group": user, "extra_groups": []}
    with log.open("ab") as out:
        # the cluster's own argv (fixed executables, validated ports and paths), no shell
        proc = subprocess.Popen(  # nosec B603
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(env), start_new_session=True, **as_user)
    return proc.pid


# how each process is asked to stop: PostgreSQL's "fast" shutdown (SIGINT) disconnects its
# clients, where SIGTERM ("smart") would wait for every replica's pool to close
STOP_SIGNALS = {"postgres": signal.SIGINT}


def _stop(pid: int, timeout: float = 8.0, first: signal.Signals = signal.SIGTERM) -> None:
    """Signal the process group (``first``, then SIGKILL for what is left of it) and wait
    until every process of the group has gone."""
    for sig in (first, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (_alive(pid) or _group_alive(pid)):
            time.sleep(0.2)
        if not _alive(pid) and not _group_alive(pid):
            return


def _group_alive(pgid: int) -> bool:
    import psutil

    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, OSError):  # gone while we looked
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def _tail(log: Path | str, n: int = 30) -> str:
    try:
        return "\n".join(Path(log).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _tcp(address: str, port: int, netns: str | None = None) -> bool:
    del netns  # every address is reachable from the host side (the bridge)
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
        return True
    return False


def _http_ok(url: str) -> bool:
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False


def probe(proc: Proc) -> bool:
    """Does the process answer: its port accepts connections, or its HTTP path answers 200."""
    if proc.probe == "tcp":
        return _tcp(proc.address, proc.port)
    return _http_ok(f"http://{proc.address}:{proc.port}{proc.probe}")


def _wait(what: str, ready: Callable[[], bool], pid: int, log: Path, timeout: float,
          echo: Callable[[str], None]) -> None:
    start = time.monotonic()
    last = start
    while not ready():
        if not _alive(pid):
            raise GazerError(f"{what} exited while starting; the end of {log}:\n{_tail(log)}")
        now = time.monotonic()
        if now - start > timeout:
            raise GazerError(f"{what} did not come up within {timeout:.0f} s; the end of "
                             f"{log}:\n{_tail(log)}")
        if now - last > 10:
            echo(f"  … waiting for {what} ({now - start:.0f} s)")
            last = now
        time.sleep(0.3)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise GazerError("PostgreSQL server binaries not found: apt-get install postgresql")


def _exe(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise GazerError(f"`{name}` not found: pip install 'gazer[s3,ray]' (and for haproxy, "
                         "apt-get install haproxy)")
    return found


# --- the network: a bridge and one namespace per host --------------------------------------

def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)  # nosec B603 B607
    if done.returncode != 0:
        raise GazerError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _make_host(spec: ClusterSpec, state: State, name: str, index: int) -> tuple[str, str]:
    """A namespace ``{spec.name}-{name}`` with a veth on the bridge; returns (netns, address)."""
    netns = f"{spec.name}-{name}"
    host_side = f"{spec.name}{name.replace('-', '')}"[:13] + "h"
    address = f"{spec.subnet}.{10 + index}"
    if netns not in state.namespaces:
        _ip("netns", "add", netns)
        state.namespaces.append(netns)
        _ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", netns)
        _ip("link", "set", host_side, "master", str(state.bridge), "up")
        _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
    state.links[name] = host_side
    return netns, address


def _make_bridge(spec: ClusterSpec, state: State) -> None:
    if os.geteuid() != 0:
        raise GazerError("namespaces: true needs root (ip netns, veth and a bridge)")
    if state.bridge:
        return
    bridge = f"{spec.name}br0"
    _ip("link", "add", bridge, "type", "bridge")
    state.bridge = bridge
    _ip("addr", "add", f"{spec.host_address}/24", "dev", bridge)
    _ip("link", "set", bridge, "up")


def _remove_network(state: State) -> None:
    for netns in state.namespaces:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)  # nosec B603 B607
    for link in state.links.values():  # gone with its namespace, unless something holds it
        subprocess.run(["ip", "link", "del", link], capture_output=True)  # nosec B603 B607
    if state.bridge:
        subprocess.run(["ip", "link", "del", state.bridge], capture_output=True)  # nosec B603 B607
    state.namespaces, state.links, state.bridge = [], {}, None


# --- up, down, status --------------------------------------------------------------------------

class Cluster:
    """Start, stop and inspect the stack a ``ClusterSpec`` describes."""

    def __init__(self, spec: ClusterSpec, echo: Callable[[str], None] = print) -> None:
        self.spec = spec
        self.echo = echo
        self.dir = spec.dir
        self.logs = spec.dir / "logs"

    @property
    def env_file(self) -> Path:
        return self.dir / ENV_FILE

    def _env(self) -> dict[str, str]:
        """What every process of the cluster gets: this environment without its own GAZER_*
        settings (the cluster's come from its file alone), then the cluster's."""
        outer = {k: v for k, v in os.environ.items() if not k.startswith("GAZER_")}
        return {**outer, **cluster_env(self.spec, _keys(self.dir))}

    def up(self) -> State:
        """Start what is not running yet, in order; on a failure stop what this call started."""
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.dir / "home").mkdir(exist_ok=True)
        keys = _keys(self.dir)
        write_env_file(self.env_file, cluster_env(self.spec, keys))
        state = State.load(self.dir)
        before = {p.name for p in state.processes}
        try:
            if self.spec.namespaces:
                _make_bridge(self.spec, state)
                state.save(self.dir)
            self._postgres(state)
            self._s3(state)
            self._mlflow(state)
            self._ray(state)
            self._replicas(state)
            self._haproxy(state)
        except BaseException:
            state.save(self.dir)
            self.echo("start failed: stopping what this call started")
            for proc in reversed(state.processes):
                if proc.name not in before:
                    _stop(proc.pid, first=STOP_SIGNALS.get(proc.name, signal.SIGTERM))
            state.processes = [p for p in state.processes if p.name in before]
            if not before:
                _remove_network(state)
            state.save(self.dir)
            raise
        state.save(self.dir)
        return state

    def _start(self, state: State, name: str, cmd: list[str], address: str, port: int, *,
               probe_path: str = "tcp", netns: str | None = None, user: str | None = None,
               env: Mapping[str, str] | None = None, wait: bool = True) -> Proc:
        running = state.find(name)
        if running and _alive(running.pid):
            self.echo(f"{name}: running (pid {running.pid})")
            return running
        if running:
            state.processes.remove(running)
        log = self.logs / f"{name}.log"
        pid = _spawn(cmd, log, env or self._env(), netns=netns, user=user)
        proc = Proc(name, pid, address, port, str(log), netns, probe_path)
        state.processes.append(proc)
        state.save(self.dir)
        if wait:
            self._ready(proc)
        return proc

    def _ready(self, proc: Proc) -> None:
        began = time.monotonic()
        _wait(proc.name, lambda: probe(proc), proc.pid, Path(proc.log),
              self.spec.start_timeout_s, self.echo)
        where = f"{proc.address}:{proc.port}" + (f" in netns {proc.netns}" if proc.netns else "")
        self.echo(f"{proc.name}: up at {where} (pid {proc.pid}, {time.monotonic() - began:.1f} s)")

    def _postgres(self, state: State) -> None:
        data = self.dir / "postgres"
        bin_dir = _pg_bin()
        as_root = os.geteuid() == 0
        user = "postgres" if as_root else None
        reachable = not as_root or subprocess.run(  # nosec B603 B607
            ["test", "-x", str(self.dir)], user="postgres", capture_output=True).returncode == 0
        if not reachable:
            raise GazerError(f"PostgreSQL refuses to run as root, so it runs as user postgres, "
                             f"which cannot reach {self.dir}: put the cluster's dir where "
                             f"every parent folder is searchable (chmod o+x), e.g. under /srv")
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            if as_root:
                shutil.chown(data, "postgres", "postgres")
                data.chmod(0o700)
            pwfile = self.dir / "run" / "pgpass"
            pwfile.parent.mkdir(exist_ok=True)
            pwfile.write_text(_keys(self.dir)["postgres"] + "\n")
            if as_root:
                shutil.chown(pwfile, "postgres", "postgres")
            cmd = [str(bin_dir / "initdb"), "-D", str(data), "-A", "scram-sha-256",
                   f"--pwfile={pwfile}", "-U", "postgres"]
            done = subprocess.run(cmd, capture_output=True, text=True,  # nosec B603
                                  user="postgres" if as_root else None)
            pwfile.unlink()
            if done.returncode != 0:
                raise GazerError(f"initdb failed: {done.stderr.strip()[-1500:]}")
            if self.spec.namespaces:  # the hosts on the bridge connect with the password
                with (data / "pg_hba.conf").open("a") as hba:
                    hba.write(f"host all all {self.spec.subnet}.0/24 scram-sha-256\n")
        address, port = self.spec.host_address, self.spec.ports.postgres
        sockets = self.dir / "run"
        sockets.mkdir(exist_ok=True)
        if as_root:
            shutil.chown(sockets, "postgres", "postgres")
        server = self._start(state, "postgres", [
            str(bin_dir / "postgres"), "-D", str(data), "-h", address, "-p", str(port), "-k",
            str(sockets)], address, port, user=user)

        def accepting() -> bool:
            return subprocess.run(  # nosec B603
                [str(bin_dir / "pg_isready"), "-h", address, "-p", str(port)],
                capture_output=True).returncode == 0

        _wait("postgres connections", accepting, server.pid, self.logs / "postgres.log",
              self.spec.start_timeout_s, self.echo)
        import psycopg

        try:
            with psycopg.connect(f"postgresql://postgres:{_keys(self.dir)['postgres']}@"
                                 f"{address}:{port}/postgres", autocommit=True) as conn:
                have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
                for db in ("gazer", "mlflow"):
                    if db not in have:
                        conn.execute(f'CREATE DATABASE "{db}"')
        except psycopg.Error as exc:
            raise GazerError(f"PostgreSQL at {address}:{port} refused gazer's databases: "
                             f"{exc}") from exc

    def _s3(self, state: State) -> None:
        address, port = self.spec.host_address, self.spec.ports.s3
        data = self.dir / "s3"
        data.mkdir(exist_ok=True)
        cmd = [_exe("weed"), "mini", f"-dir={data}", f"-ip={address}", f"-ip.bind={address}",
               f"-s3.port={port}", "-master.telemetry=false",
               *(f"-{flag}={port + 1 + i}" for i, flag in enumerate(WEED_PORTS))]
        self._start(state, "s3", cmd, address, port)
        self._bucket(f"http://{address}:{port}", state)

    def _bucket(self, endpoint: str, state: State) -> None:
        import boto3

        keys = _keys(self.dir)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=keys["s3_key"],
                              aws_secret_access_key=keys["s3_secret"], region_name="us-east-1")

        def made() -> bool:
            try:
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if self.spec.bucket not in names:
                    client.create_bucket(Bucket=self.spec.bucket)
                return True
            except Exception:
                return False

        _wait("the S3 bucket", made, state.find("s3").pid,  # type: ignore[union-attr]
              self.logs / "s3.log", self.spec.start_timeout_s, self.echo)

    def _mlflow(self, state: State) -> None:
        address, port = self.spec.host_address, self.spec.ports.mlflow
        p = self.spec.ports
        # the store's URL (with its password) by environment, not on the command line
        env = {**self._env(), "MLFLOW_BACKEND_STORE_URI": f"postgresql+psycopg://postgres:"
               f"{_keys(self.dir)['postgres']}@{address}:{p.postgres}/mlflow"}
        cmd = [_exe("mlflow"), "server", "--host", address, "--port", str(port),
               "--artifacts-destination", f"s3://{self.spec.bucket}/mlflow",
               "--serve-artifacts", "--workers", "2",
               "--allowed-hosts", f"{address}:{port},{address},localhost:{port},localhost"]
        self._start(state, "mlflow", cmd, address, port, probe_path="/health", env=env)

    def _ray(self, state: State) -> None:
        address, port = self.spec.host_address, self.spec.ports.ray
        ray = _exe("ray")
        self._start(state, "ray-head", [
            ray, "start", "--head", "--block", f"--node-ip-address={address}", f"--port={port}",
            "--num-cpus=0", "--num-gpus=0",
            "--include-dashboard=false", "--disable-usage-stats"], address, port)
        for i in range(1, self.spec.ray_workers + 1):
            name = f"ray-worker-{i}"
            netns, node_ip = (None, address)
            if self.spec.namespaces:
                netns, node_ip = _make_host(self.spec, state, name, 50 + i)
            manager = port + 10 + i  # the raylet's port: what the status probes
            self._start(state, name, [
                ray, "start", "--block", f"--address={address}:{port}",
                f"--node-ip-address={node_ip}", f"--node-manager-port={manager}",
                f"--num-cpus={self.spec.ray_worker_cpus}", "--num-gpus=0",
                "--disable-usage-stats"], node_ip, manager, netns=netns, wait=False)
        want = 1 + self.spec.ray_workers
        head = state.find("ray-head")
        assert head is not None
        env = self._env()
        _wait(f"{want} Ray nodes", lambda: ray_nodes(f"{address}:{port}", env) >= want,
              head.pid,
              self.logs / "ray-head.log", self.spec.start_timeout_s, self.echo)
        self.echo(f"ray: {want} nodes alive")

    def _replicas(self, state: State) -> None:
        started = []
        for i in range(1, self.spec.replicas + 1):
            name = f"serve-{i}"
            netns, address, port = None, self.spec.host_address, self.spec.ports.serve + i - 1
            if self.spec.namespaces:
                netns, address = _make_host(self.spec, state, name, i)
                port = self.spec.ports.serve
            started.append(self._start(
                state, name, [sys.executable, "-m", "gazer.cli", "serve", "--host", address,
                              "--port", str(port)],
                address, port, probe_path="/healthz", netns=netns, wait=False))
        for proc in started:  # they load their models side by side
            self._ready(proc)

    def replica_addresses(self, state: State) -> list[tuple[str, str]]:
        return [(p.name, f"{p.address}:{p.port}") for p in state.processes
                if p.name.startswith("serve-")]

    def _haproxy(self, state: State) -> None:
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(
            f"{self.spec.haproxy_address}:{self.spec.ports.haproxy}",
            self.replica_addresses(state), stats_socket=str(self.dir / "haproxy.sock"),
            check_interval_ms=self.spec.health_check_ms,
            timeout_server_s=self.spec.server_timeout_s))
        self._start(state, "haproxy", [_exe("haproxy"), "-db", "-f", str(cfg)],
                    self.spec.haproxy_address, self.spec.ports.haproxy)

    def down(self) -> list[str]:
        """Stop every process, newest first, and remove the namespaces and the bridge; the
        data (databases, objects) stays in ``dir`` for the next ``up``."""
        state = State.load(self.dir)
        stopped = []
        for proc in reversed(state.processes):
            began = time.monotonic()
            try:
                _stop(proc.pid, first=STOP_SIGNALS.get(proc.name, signal.SIGTERM))
            except Exception as exc:  # stop the others and take the network down anyway
                self.echo(f"{proc.name}: could not be stopped: {exc}")
                continue
            stopped.append(proc.name)
            self.echo(f"{proc.name}: stopped ({time.monotonic() - began:.1f} s)")
        state.processes = []
        _remove_network(state)
        _forget_ray_head(f"{self.spec.host_address}:{self.spec.ports.ray}")
        if self.dir.exists():
            state.save(self.dir)
        return stopped

    def status(self) -> list[dict[str, Any]]:
        """Each process: running, answering, where, and whether its network is cut; for the
        replicas and the load balancer, ``ready`` (``/readyz``: every endpoint's champion
        loaded; a cluster with no models yet is up but not ready)."""
        state = State.load(self.dir)
        balancer: dict[str, str] = {}
        with contextlib.suppress(OSError):
            balancer = haproxy_status(str(self.dir / "haproxy.sock"))
        rows = []
        for proc in state.processes:
            link = state.links.get(proc.name)
            cut = link is not None and not _link_up(link)
            ready = None
            if proc.name.startswith("serve-") or proc.name == "haproxy":  # models loaded
                ready = _http_ok(f"http://{proc.address}:{proc.port}/readyz")
            rows.append({"name": proc.name, "pid": proc.pid, "running": _alive(proc.pid),
                         "answering": probe(proc), "ready": ready,
                         "address": f"{proc.address}:{proc.port}", "netns": proc.netns,
                         "network": "cut" if cut else "up",
                         "balancer": balancer.get(proc.name)})
        return rows

    def set_link(self, name: str, up: bool) -> None:
        """Cut a replica's or a Ray worker's network (its veth down), or restore it."""
        state = State.load(self.dir)
        link = state.links.get(name)
        if link is None:
            hosts = sorted(state.links) or ["none: start with namespaces: true"]
            raise InvalidInput(f"{name!r} is not a host of its own; hosts: {', '.join(hosts)}")
        _ip("link", "set", link, "up" if up else "down")

    def stop(self, name: str) -> None:
        """Stop one process (a test's outage); ``restart`` starts it again."""
        proc = State.load(self.dir).find(name)
        if proc is None:
            raise InvalidInput(f"no process {name!r} in this cluster")
        _stop(proc.pid, first=STOP_SIGNALS.get(name, signal.SIGTERM))

    def restart(self, name: str) -> Proc:
        """Start one stopped process again (a replica killed by a test, a PostgreSQL restart)."""
        state = State.load(self.dir)
        proc = state.find(name)
        if proc is None:
            raise InvalidInput(f"no process {name!r} in this cluster; known: "
                               f"{', '.join(p.name for p in state.processes)}")
        if _alive(proc.pid):
            return proc
        starters = {"postgres": self._postgres, "s3": self._s3, "mlflow": self._mlflow,
                    "haproxy": self._haproxy}
        if name in starters:
            starters[name](state)
        elif name.startswith("serve-"):
            self._replicas(state)
        else:
            self._ray(state)
        state.save(self.dir)
        found = state.find(name)
        assert found is not None
        return found


def _forget_ray_head(address: str) -> None:
    """``ray start --head`` leaves its address in /tmp/ray/ray_current_cluster for
    ``ray.init()`` to find; once that head is gone the file would point at nothing."""
    import tempfile

    marker = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    with contextlib.suppress(OSError):
        if marker.read_text().strip() == address:
            marker.unlink()


def _link_up(link: str) -> bool:
    try:
        return Path(f"/sys/class/net/{link}/operstate").read_text().strip() != "down"
    except OSError:
        return False


def ray_nodes(address: str, env: Mapping[str, str]) -> int:
    """Alive nodes of the Ray cluster at ``address`` (0 when it does not answer), asked with
    the cluster's settings (``env``: its token)."""
    code = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False, "
            "configure_logging=False); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))")
    done = subprocess.run(  # nosec B603
        [sys.executable, "-c", code, address], capture_output=True, text=True, timeout=60,
        env=dict(env))
    lines = done.stdout.strip().splitlines()
    return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0


@contextlib.contextmanager
def running(spec: ClusterSpec, echo: Callable[[str], None] = print) -> Iterator[Cluster]:
    """``up`` for the length of a ``with`` block, ``down`` after it (tests, benchmarks)."""
    cluster = Cluster(spec, echo)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def export_lines(env: Mapping[str, str]) -> list[str]:
    return [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
