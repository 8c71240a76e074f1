#!/usr/bin/env bash
# The README's quick start, as a user runs it: `pnpm start` from the repository root, FFmpeg publishes the README's
# test pattern, then what the README says to look at: /api/streams, the dashboard, the HTTP-FLV URL (read by ffprobe),
# an RTMP play (FFmpeg), and a clean stop on Ctrl-C (SIGINT: the app logs `stopped`). Run by .ci/run after the tests; run it
# yourself from the repository root: `bash scripts/quickstart-smoke.sh`.
#
# RTMP_PORT / HTTP_PORT override the README's ports (1935 / 8080) when those are taken on your machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RTMP_PORT="${RTMP_PORT:-1935}"
HTTP_PORT="${HTTP_PORT:-8080}"
WORK="$(mktemp -d /tmp/rtmp-quickstart.XXXXXX)"
APP_PID=""
PUBLISH_PID=""
cleanup() {
  [ -n "$PUBLISH_PID" ] && kill "$PUBLISH_PID" 2>/dev/null || true
  [ -n "$APP_PID" ] && kill -9 -- "-$APP_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "quickstart smoke FAILED: $*" >&2
  echo "--- app log (last 40 lines)" >&2
  tail -n 40 "$WORK/app.log" >&2 || true
  exit 1
}

echo "== pnpm start (rtmp :$RTMP_PORT, http :$HTTP_PORT)"
# Its own process group, so that the signal reaches node the way Ctrl-C in a terminal does.
set -m
npx -y pnpm@10.34.9 start -- --port "$RTMP_PORT" --http-port "$HTTP_PORT" >"$WORK/app.log" 2>&1 &
APP_PID=$!
set +m
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$APP_PID" 2>/dev/null || fail "pnpm start exited before listening"
  sleep 0.5
done
curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || fail "no /healthz after 120 s"

echo "== ffmpeg publishes the README's test pattern to rtmp://127.0.0.1:$RTMP_PORT/live/test"
ffmpeg -nostdin -v error -re -f lavfi -i testsrc=size=1280x720:rate=30 -f lavfi -i sine -t 12 \
  -c:v libx264 -pix_fmt yuv420p -g 60 -c:a aac -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/test" \
  >"$WORK/publish.log" 2>&1 &
PUBLISH_PID=$!
for _ in $(seq 1 40); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/api/streams" | grep -Eq '"key": ?"test"' && break
  sleep 0.25
done
streams="$(curl -fs "http://127.0.0.1:$HTTP_PORT/api/streams")"
echo "$streams" | grep -Eq '"key": ?"test"' || fail "/api/streams does not list live/test: $streams"
echo "$streams" | grep -Eq '"resolution": ?"1280x720"' || sleep 2
streams="$(curl -fs "http://127.0.0.1:$HTTP_PORT/api/streams")"
echo "$streams" | grep -Eq '"resolution": ?"1280x720"' || fail "/api/streams has no 1280x720 video: $streams"

curl -fs "http://127.0.0.1:$HTTP_PORT/" | grep -qi "<html" || fail "the dashboard at / is not an HTML page"

echo "== ffprobe reads http://127.0.0.1:$HTTP_PORT/live/test.flv, ffmpeg plays rtmp://127.0.0.1:$RTMP_PORT/live/test"
codecs="$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "http://127.0.0.1:$HTTP_PORT/live/test.flv" | sort | tr '\n' ' ')"
[ "$codecs" = "aac h264 " ] || fail "ffprobe of the HTTP-FLV stream found: '$codecs'"
ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$RTMP_PORT/live/test" -t 2 -c copy -f flv "$WORK/play.flv" ||
  fail "ffmpeg could not play the RTMP stream"
frames="$(ffprobe -v error -select_streams v -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$WORK/play.flv")"
[ "$frames" -ge 30 ] || fail "the RTMP play got $frames video frames in 2 s"

wait "$PUBLISH_PID" || fail "ffmpeg's publish failed: $(cat "$WORK/publish.log")"
PUBLISH_PID=""

echo "== Ctrl-C: the app stops cleanly"
kill -INT -- "-$APP_PID"
code=0
wait "$APP_PID" || code=$?
APP_PID=""
# pnpm gets the Ctrl-C too and reports it (130) once the app is done; the app itself must finish its shutdown.
[ "$code" = 0 ] || [ "$code" = 130 ] || fail "pnpm start exited with $code after SIGINT"
grep -q '"msg":"stopped"' "$WORK/app.log" || fail "the app did not log its clean stop"
echo "quickstart smoke passed (HTTP-FLV: $codecs; RTMP play: $frames video frames in 2 s)"
