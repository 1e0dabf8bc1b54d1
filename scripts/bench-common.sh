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
