"""gunicorn's sync worker behind nginx, the classic Django setup, as a measured candidate
for the web app's server (bench section 10, issue 28): nginx reads each request whole
(request buffering, bodies past 64 KiB refused with 413) before a sync worker sees it,
and takes the answer whole so the worker is free again at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devtools.dbserver import free_port
from devtools.processes import AppProcess, ProgramProcess, start_answering

__all__ = ["CONFIG", "nginx_binary", "start_behind_nginx"]

# Minimal: buffering on both ways (nginx's defaults, spelled out), 64 KiB bodies, the
# forwarded headers the apps read from a proxy in TRUSTED_PROXIES. One nginx worker.
CONFIG = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client-body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 64k;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://unix:{socket}:;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """Debian's nginx (`apt-get install nginx`), if installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)


def start_behind_nginx(env: dict, workdir: Path, workers: int, timeout: float = 60.0
                       ) -> tuple[list[AppProcess], str]:
    """gunicorn sync (`web.wsgi`, `workers` processes) on a Unix socket, and nginx on a
    free loopback port in front of it, both started (and stopped by the caller, by
    their process groups); the URL of nginx, once `/healthz` answers 200 through it."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx")
    port = free_port()
    home = workdir / f"nginx-{port}"
    home.mkdir(parents=True)
    socket = home / "gunicorn.sock"
    (home / "nginx.conf").write_text(CONFIG.format(
        dir=home, port=port, socket=socket,
        # As root, nginx's workers would switch to `nobody`, who cannot use the socket.
        user="user root;" if os.geteuid() == 0 else ""))
    gunicorn = AppProcess("gunicorn", env, log_path=home / "gunicorn.log", args=(
        "web.wsgi:application", "--bind", f"unix:{socket}", "--workers", str(workers),
        "--log-level", "warning")).start()
    nginx = ProgramProcess(binary, env, log_path=home / "nginx.log", args=(
        "-p", str(home), "-c", str(home / "nginx.conf"), "-e", str(home / "nginx-error.log")))
    url = f"http://127.0.0.1:{port}"
    # Through nginx, a 200 only once gunicorn answers behind it (a 502 before).
    if start_answering([(nginx, f"{url}/healthz")], timeout, status=200) is None:
        return [gunicorn, nginx], url
    for proc in (gunicorn, nginx):
        proc.stop()
    raise RuntimeError(f"nginx + gunicorn did not start; see {home}")
