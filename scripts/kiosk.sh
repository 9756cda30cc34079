#!/usr/bin/env bash
# Start the Chang'e-6 viewer as a museum kiosk: the app server on 127.0.0.1, then Chromium in --kiosk mode.
# Usage: scripts/kiosk.sh [PORT]   (run from the repository folder, after the README's run command once)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-5006}"
PY="${PYTHON:-.venv/bin/python}"
"$PY" app.py --kiosk --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
    sleep 1
done
CHROME="$(command -v chromium || command -v chromium-browser || command -v google-chrome)"
"$CHROME" --kiosk --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --disable-translate --disable-features=TranslateUI --overscroll-history-navigation=0 \
    --disable-pinch --noerrdialogs --disable-session-crashed-bubble --check-for-update-interval=31536000 \
    --user-data-dir="${HOME}/.config/change6-kiosk-chromium" \
    "http://127.0.0.1:$PORT/?kiosk=1"
