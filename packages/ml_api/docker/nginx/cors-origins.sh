#!/bin/sh
# The web pages allowed to read nginx's own error answers (CORS), written as the entries of
# nginx.conf's `map $http_origin $cors_origin`, from ML_API_CORS_ORIGINS: the API's own setting
# (api/config.py: comma-separated origins, or `*` for any), which the compose file gives this
# container as it gives the api. A page then reads nginx's 413 or 503 as it reads the app's
# refusals; without the header the browser shows it only a network failure.
#
# An origin is echoed back when it is listed, as the app does; with `*`, any origin gets `*`.
# A value that no browser sends as an Origin (a quote, a space, a `;`: it would break out of the
# map's syntax) is refused, with its place in the list, and nginx does not start.
set -eu
# No globbing: the list is split by the shell below, and `*` is an item, not a file pattern.
set -f

place=0
star=""
entries=""
# Split on commas, each item trimmed as the app trims it; empty items skipped.
for item in $(printf '%s' "${ML_API_CORS_ORIGINS:-}" | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s/[[:space:]]/%20/g'); do
    place=$((place + 1))
    if [ "$item" = "*" ]; then
        star=1
    elif printf '%s' "$item" | grep -Eq '^[A-Za-z][A-Za-z0-9+.-]*://[][A-Za-z0-9.:-]+$'; then
        entries="$entries\"$item\" \"$item\";
"
    else
        echo "cors-origins: ML_API_CORS_ORIGINS's item $place is not an origin (scheme://host[:port])" >&2
        exit 1
    fi
done
if [ -n "$star" ]; then
    echo 'default "*";'
else
    echo 'default "";'
    printf '%s' "$entries"
fi
