// go-h2-client: the Go anchor for scripts/bench-client. Go's x/net/http2 Transport (the client that
// also re-sends refused work), N GETs with C in flight, one result line as JSON:
//   {"requests":N,"failed":F,"elapsed_s":S,"rps":R}
// h2c (AllowHTTP, a plain TCP dial) for http:// URLs, TLS with ALPN h2 for https://.
// Build (GOPATH mode, Debian's golang-golang-x-net-dev):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-h2-client ./client
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

func main() {
	n := flag.Int("n", 10000, "requests")
	c := flag.Int("c", 32, "requests in flight")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go-h2-client [-n N] [-c C] URL")
		os.Exit(2)
	}
	url := flag.Arg(0)
	tr := &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if strings.HasPrefix(url, "http://") {
		tr.AllowHTTP = true
		tr.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next, failed int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&next, 1) <= int64(*n) {
				resp, err := client.Get(url)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					atomic.AddInt64(&failed, 1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	out, _ := json.Marshal(map[string]any{
		"requests": *n, "failed": failed, "elapsed_s": elapsed, "rps": float64(*n) / elapsed,
	})
	fmt.Println(string(out))
}
