"""gunicorn settings for the baseline of bench/observability.py: each worker's app without the request-log and
metrics hooks (license_server/logs.py, license_server/metrics.py), i.e. the server as it was before them."""


def post_worker_init(worker):
    app = worker.wsgi
    for table in (app.before_request_funcs, app.after_request_funcs):
        hooks = table.get(None, [])
        hooks[:] = [hook for hook in hooks if hook.__module__ not in ("license_server.logs", "license_server.metrics")]
