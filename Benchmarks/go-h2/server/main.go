// go-h2-server: the Go anchor for scripts/bench-server. net/http with x/net/http2/h2c (prior
// knowledge h2c): "/" answers 100 bytes, "/bytes/N" answers N bytes. Prints
// "listening on http://127.0.0.1:PORT" once it accepts.
// Build (GOPATH mode, Debian's golang-golang-x-net-dev):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-h2-server ./server
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	small := bytes.Repeat([]byte("x"), 100)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body := small
		if strings.HasPrefix(r.URL.Path, "/bytes/") {
			n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
			if err != nil || n < 0 || n > 1<<24 {
				http.Error(w, "bad size", http.StatusBadRequest)
				return
			}
			body = bytes.Repeat([]byte("x"), n)
		}
		w.Header().Set("content-type", "application/octet-stream")
		w.Header().Set("content-length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-h2-server:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	h2s := &http2.Server{MaxConcurrentStreams: 100}
	srv := &http.Server{Handler: h2c.NewHandler(mux, h2s)}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "go-h2-server:", err)
		os.Exit(1)
	}
}
