"""The collector and API service (`tokenpulse serve`).

    routes.py    what each URL does (OTLP receivers, NDJSON ingest, reports, people, metrics)
    pipeline.py  request body -> priced events (pure; runs in worker processes for large bodies)
    writer.py    the thread that owns the store: group commit, reads in between
    auth.py      bearer keys; http.py the error shape and body reading; metrics.py Prometheus
    app.py       wiring and `run()`; settings.py the [serve] settings
"""
