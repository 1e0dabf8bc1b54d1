# Shared by scripts/bench-*: tools check, free ports, readiness, a self-signed certificate.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
need() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 2; }; done; }
make_cert() {  # make_cert DIR -> DIR/cert.pem DIR/key.pem (CN/SAN 127.0.0.1)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}
machine() { echo "$(date -u +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load $(cut -d' ' -f1 /proc/loadavg)"; }
# The venv with h2 (peers) and httpx[http2] (bench-storm). GOAWAY_VENV overrides.
ensure_venv() {
  VENV=${GOAWAY_VENV:-.venv}
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c 'import h2, httpx' 2>/dev/null || "$VENV/bin/pip" install -q h2 'httpx[http2]' >&2
}
# The Go anchors (Benchmarks/go-h2): Go's x/net/http2 client and a net/http + h2c server, built in
# GOPATH mode from Debian's golang-go and golang-golang-x-net-dev. build_go -> $GO_BIN/go-h2-{client,server}
build_go() {
  need go
  [ -d /usr/share/gocode/src/golang.org/x/net/http2 ] || { echo "$(basename "$0"): golang.org/x/net/http2 is missing (apt-get install golang-golang-x-net-dev)" >&2; exit 2; }
  GO_BIN=${GO_BIN:-.build/go-h2}
  mkdir -p "$GO_BIN"
  (cd Benchmarks/go-h2 && export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-/tmp/goaway-gocache}" &&
    go build -o "../../$GO_BIN/go-h2-client" ./client && go build -o "../../$GO_BIN/go-h2-server" ./server)
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# json_rps JSON -> "rps failed" (rps from "rps", or requests / elapsed_s)
json_rps() {
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); rps=r.get("rps") or r["requests"]/r["elapsed_s"]; print(rps, r.get("failed", 0))' "$1"
}
