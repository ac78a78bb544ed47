// The Go peer: what the Go authenticating proxies for Kubernetes (Rancher's auth proxy,
// kube-oidc-proxy, Pinniped's impersonation proxy) put on the data path, reduced to the standard
// library's httputil.ReverseProxy with the same header work kubegate does, and no token lookup:
// drop the client's Authorization, set the cluster bearer, Impersonate-User and one
// Impersonate-Group line per group. Serves HTTPS with HTTP/2 offered by ALPN, as Go's server does.
//
//	go build -o go-peer . && GOMAXPROCS=1 ./go-peer <port> <downstream port> <cert dir> <downstream token>
//
// It prints "listening <port>" once it serves.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: go-peer <port> <downstream port> <cert dir> <downstream token>")
		os.Exit(2)
	}
	port, downstreamPort, dir, token := os.Args[1], os.Args[2], os.Args[3], os.Args[4]

	caPem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	must(err)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPem) {
		must(fmt.Errorf("no certificate in %s", filepath.Join(dir, "ca.crt")))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	must(err)

	target := &url.URL{Scheme: "https", Host: "127.0.0.1:" + downstreamPort}
	// http.DefaultTransport's settings (HTTP/2 attempted), with the downstream's CA and enough
	// idle connections for every client connection of a run.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: roots}
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// /k8s/clusters/<id>/<kube path> → /<kube path>, as kubegate strips its prefix.
			rest := strings.TrimPrefix(r.In.URL.Path, "/k8s/clusters/")
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				r.Out.URL.Path = rest[i:]
			} else {
				r.Out.URL.Path = "/"
			}
			r.Out.URL.RawPath = ""
			h := r.Out.Header
			h.Del("Authorization")
			h.Set("Authorization", "Bearer "+token)
			h.Set("Impersonate-User", "alice")
			h.Add("Impersonate-Group", "dev")
			h.Add("Impersonate-Group", "kubegate:authenticated")
			h.Set("Impersonate-Extra-Kubegate.io%2ftoken-Id", "t-bench")
		},
		Transport: transport,
	}

	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	must(err)
	server := &http.Server{Handler: proxy, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}}
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	must(server.ServeTLS(listener, "", ""))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-peer:", err)
		os.Exit(1)
	}
}
