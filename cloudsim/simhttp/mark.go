package simhttp

import (
	"net"
	"net/http"
	"strings"
)

// SourceIPHeader places a caller on the network: the simulators record it as
// the call's source address (what audit logs and detectors see), so a drill
// can put the attacker on the internet while every request still arrives
// over loopback.
const SourceIPHeader = "X-Firedrill-Source-Ip"

// SourceIP is the address a simulator attributes a request to: the
// SourceIPHeader when a drill set one, else the connection's peer.
func SourceIP(r *http.Request) string {
	if v := r.Header.Get(SourceIPHeader); v != "" {
		return v
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Mark stamps a source address (optional) and a user-agent suffix carrying
// a run's correlation id on each request. Neither header is signed, so
// adding them after SigV4 signing keeps the signature valid.
type Mark struct {
	SourceIP, UserAgent string
	Next                http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Mark) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if t.SourceIP != "" {
		r.Header.Set(SourceIPHeader, t.SourceIP)
	}
	r.Header.Set("User-Agent", strings.TrimSpace(r.Header.Get("User-Agent")+" "+t.UserAgent))
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
