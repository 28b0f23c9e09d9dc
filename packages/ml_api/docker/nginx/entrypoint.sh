#!/bin/sh
# Write the CORS origins nginx reads (proxy-cors-origins), then run the command (nginx), and
# reload nginx whenever the address of its upstream host changes.
#
# nginx 1.22 (Debian bookworm) resolves an upstream server's name once, when it loads its config.
# The api container gets a new address when it is restarted (its restart policy, a compose
# restart or stop/start; measured under podman 4.3): without a reload nginx would go on sending
# every request to the old address (502 or 504) until it is restarted itself. A reload is
# graceful: requests in flight finish on the old workers.
set -eu

# The upstream's host name: as in nginx.conf's `server api:5000` (tests/test_proxy_config.py).
upstream_host="${PROXY_UPSTREAM_HOST:-api}"

addresses() {
    getent ahosts "$upstream_host" | awk '{ print $1 }' | sort -u | tr '\n' ' '
}

watch_upstream() {
    seen="$(addresses || true)"
    while sleep 2; do
        now="$(addresses || true)"
        # A name that does not resolve (the container is down) is not a change: nginx keeps
        # the last address until there is a new one to load.
        if [ -n "$now" ] && [ "$now" != "$seen" ]; then
            echo "upstream $upstream_host moved from [$seen] to [$now]: reloading nginx" >&2
            nginx -e stderr -s reload || true
            seen="$now"
        fi
    done
}

# The pages that may read nginx's own errors (CORS), from ML_API_CORS_ORIGINS, for nginx.conf's
# include (the script says how); an item that is no origin stops the container here.
proxy-cors-origins >/tmp/nginx-cors-origins.map

watch_upstream &
# The command (the image's CMD: nginx) takes this process's place and pid, so that it gets the
# container's stop signal itself.
exec "$@"
