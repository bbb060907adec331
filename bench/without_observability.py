"""gunicorn settings for the baseline of bench/observability.py: each worker's app without the request-log and
metrics hooks (license_server/logs.py, license_server/metrics.py), i.e. the server as it was before them."""

#: the modules whose request hooks write the request line and count the metrics
OBSERVABILITY = ("license_server.logs", "license_server.metrics")


def change_hooks(app, change) -> None:
    """Each before- and after-request hook of OBSERVABILITY replaced by change(hook), or removed when it answers None
    (also bench/sync_cpu.py --hooks none / --wrap-hooks)."""
    for table in (app.before_request_funcs, app.after_request_funcs):
        hooks = table.get(None, [])
        changed = [change(hook) if hook.__module__ in OBSERVABILITY else hook for hook in hooks]
        hooks[:] = [hook for hook in changed if hook is not None]


def post_worker_init(worker):
    change_hooks(worker.wsgi, lambda hook: None)
