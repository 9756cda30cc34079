#!/usr/bin/env bash
# Start the Chang'e-6 viewer as a museum kiosk: the app server on 127.0.0.1, then Chromium full screen (--kiosk).
# Usage: scripts/kiosk.sh [PORT]     (after the README's run command has made .venv once; docs/kiosk.md)
#
# - The server is restarted by this script if it stops with an error; the open page notices, shows
#   "reconnecting" and reloads itself when the server answers again.
# - Chromium is opened again if it is closed or crashes.
# - The operator's "Exit the kiosk" (PIN screen) stops the server with status 0: then this script closes Chromium
#   and ends with status 0 (so systemd's Restart=on-failure leaves it stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-5006}"
PY="${PYTHON:-.venv/bin/python}"
URL="http://127.0.0.1:$PORT/?kiosk=1"
PROFILE="${KIOSK_PROFILE:-${HOME}/.config/change6-kiosk-chromium}"

[ -x "$PY" ] || { echo "kiosk.sh: $PY not found; run the README's run command once (it makes .venv)" >&2; exit 1; }
CHROME="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$CHROME" ] || { echo "kiosk.sh: no Chromium found; install it (apt-get install chromium)" >&2; exit 1; }
"$PY" -m viewer.ui.kiosk_config || exit 1   # checks assets/kiosk.yaml; a mistake is one line naming key and fix

# Chromium policies a page cannot set (printing, developer tools, file dialogs, downloads, file:// and chrome://
# pages off) live in scripts/kiosk-policy.json; Chromium reads them only from its managed folder, which needs root.
POLICY_DIR="${KIOSK_POLICY_DIR:-/etc/chromium/policies/managed}"
if ! cmp -s scripts/kiosk-policy.json "$POLICY_DIR/change6-kiosk.json"; then
    echo "kiosk.sh: the kiosk's Chromium policies are not installed; install them once with:" \
        "sudo install -D -m 644 scripts/kiosk-policy.json $POLICY_DIR/change6-kiosk.json" >&2
fi

serve() {  # the app server, restarted after an error; returns when the operator exits the kiosk
    while :; do
        rc=0
        "$PY" app.py --kiosk --port "$PORT" || rc=$?
        [ "$rc" -eq 0 ] && return 0
        if [ "$rc" -eq 3 ]; then   # the port is taken (the server said which): starting again would not help
            echo "kiosk.sh: port $PORT is in use; stop what runs there or start kiosk.sh with another PORT" >&2
            return 3
        fi
        echo "kiosk.sh: the server stopped with an error; starting it again in 3 s" >&2
        sleep 3
    done
}

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then   # something already answers on the port
    echo "kiosk.sh: port $PORT is in use; stop what runs there or start kiosk.sh with another PORT" >&2
    exit 1
fi
serve &
SERVER=$!
CHROME_PID=""
cleanup() {
    [ -n "$CHROME_PID" ] && kill "$CHROME_PID" 2>/dev/null || true
    pkill -TERM -P "$SERVER" 2>/dev/null || true   # the python child of the serve loop
    kill "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT

for _ in $(seq 1 180); do   # the first start prepares every view (about 20-60 s)
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/static/js/bokeh.min.js" && break
    kill -0 "$SERVER" 2>/dev/null || exit 1
    sleep 1
done

while :; do
    "$CHROME" --kiosk --no-first-run --noerrdialogs --disable-session-crashed-bubble --disable-infobars \
        --disable-background-networking --disable-component-update --disable-sync --disable-translate \
        --disable-features=TranslateUI --overscroll-history-navigation=0 --disable-pinch \
        --check-for-update-interval=31536000 --password-store=basic \
        --user-data-dir="$PROFILE" "$URL" &
    CHROME_PID=$!
    wait -n "$SERVER" "$CHROME_PID" || true
    if ! kill -0 "$SERVER" 2>/dev/null; then   # the operator chose "Exit the kiosk"
        kill "$CHROME_PID" 2>/dev/null || true
        wait "$CHROME_PID" 2>/dev/null || true
        CHROME_PID=""
        exit 0
    fi
    echo "kiosk.sh: Chromium closed; opening it again in 2 s" >&2
    sleep 2
done
