"""gunicorn's settings for the license server (deploy/license-server.service, docs/operating.md).

    gunicorn --config deploy/gunicorn.conf.py "license_server:create_app()"

Options on the command line (or in GUNICORN_CMD_ARGS) win over these. The server's own settings are
LICENSE_SERVER_<KEY> environment variables (DESIGN §5), read by every worker.
"""

import glob
import os

bind = "127.0.0.1:8700"  # nginx (deploy/nginx-license-server.conf) terminates TLS in front
workers = 2 * (os.cpu_count() or 1)  # sync workers: a /sync is CPU (signatures) and database work
timeout = 60
graceful_timeout = 20
# No access log: the server writes its own request lines (request id, route template, status, duration,
# technician id), and gunicorn's would carry paths, where customer links hold their token (DESIGN §5).
accesslog = None
errorlog = "-"  # stderr: the systemd journal


def _metrics_folder():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """Start the metrics afresh: files of processes from before this start would be added up forever."""
    folder = _metrics_folder()
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for path in glob.glob(os.path.join(folder, "*.db")):
            os.remove(path)


def child_exit(server, worker):
    """A worker that ended: its live gauges leave the page (its counters stay counted)."""
    if _metrics_folder():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
