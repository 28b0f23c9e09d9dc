"""gunicorn settings for the service, from ``ML_API_*`` environment variables (api.config)."""

from api.config import ServerSettings

_server = ServerSettings()

wsgi_app = "api.asgi:app"
# uvicorn-worker's UvicornWorker, draining briefly on SIGTERM (api/worker.py).
worker_class = "api.worker.DrainingUvicornWorker"
bind = f"{_server.host}:{_server.port}"
workers = _server.workers
timeout = _server.timeout
graceful_timeout = _server.graceful_timeout
keepalive = _server.keepalive
max_requests = _server.max_requests
max_requests_jitter = _server.max_requests_jitter
accesslog = "-"
errorlog = "-"
# gunicorn 27 opens a control socket under $HOME by default: not wanted in a container.
control_socket_disable = True
