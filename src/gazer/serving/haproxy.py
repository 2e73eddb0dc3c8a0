"""An HAProxy configuration for ``gazer serve`` replicas (Debian's ``haproxy``, 2.6 or later).

Replicas are checked actively on ``/readyz`` (a replica still loading its models, or one
that died, receives nothing). A request that fails to connect, or that gets no response
because its replica died under it, is retried on another replica (``retry-on`` with
``option redispatch``). Request bodies are buffered so POSTs can be retried. Each response
names the replica that answered (``X-Gazer-Replica``).
"""

from __future__ import annotations

from collections.abc import Sequence


def haproxy_config(bind: str, replicas: Sequence[tuple[str, str]], *, stats_socket: str,
                   check_interval_ms: int = 500, timeout_server_s: float = 30.0) -> str:
    """The config text: ``bind`` (``host:port``) in front of ``replicas`` (``(name,
    host:port)``), with an admin stats socket at ``stats_socket``."""
    servers = "\n".join(
        f"    server {name} {address} check inter {check_interval_ms}ms fall 2 rise 2"
        for name, address in replicas)
    return f"""global
    stats socket {stats_socket} mode 600 level admin
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server {timeout_server_s:g}s
    timeout http-request 10s
    option http-buffer-request
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503 504

frontend gazer
    bind {bind}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Gazer-Replica %s
{servers}
"""


def haproxy_status(stats_socket: str, backend: str = "replicas") -> dict[str, str]:
    """What HAProxy thinks of each replica (``UP``, ``DOWN``, ``MAINT``...), read from its
    admin socket (``show stat``)."""
    rows = [line.split(",") for line in haproxy_command(stats_socket, "show stat").splitlines()
            if line and not line.startswith("#")]
    return {r[1]: r[17] for r in rows
            if len(r) > 17 and r[0] == backend and r[1] not in ("FRONTEND", "BACKEND")}


def haproxy_command(stats_socket: str, command: str) -> str:
    """Send one admin command (``disable server replicas/serve-2``) and return the answer."""
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(stats_socket)
        s.sendall(command.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()
