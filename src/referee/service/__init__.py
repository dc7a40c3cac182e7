"""The audit service: HTTP API and review page (`referee serve`), audit workers (`referee worker`).

`referee.service.app.create_app(settings, store)` builds the FastAPI app; `referee.service.worker.Worker` runs the
claim loops; `referee.service.auditing.run_audit` is the one call into the submission audit engine. Nothing heavy
is imported here, so `referee --help` stays fast.
"""
