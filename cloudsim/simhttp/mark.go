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

// ActorHeader names the class of actor a drill request comes from
// ("attacker", "responder", "background/alice"). The simulators draw the
// request's random ids and latencies from streams named for it (see
// world.UseStreamsLocked), so that one actor's calls never shift another's
// draws. Requests without it (any third-party client) are "client".
const ActorHeader = "X-Firedrill-Actor"

// Caller is the stream name of a request to cloud: "<cloud>/<actor>".
func Caller(cloud string, r *http.Request) string {
	actor := r.Header.Get(ActorHeader)
	if actor == "" {
		actor = "client"
	}
	return cloud + "/" + actor
}

// Mark stamps a source address (optional), the actor class (optional) and
// a user-agent suffix carrying a run's correlation id on each request. No
// header is signed, so adding them after SigV4 signing keeps the signature
// valid.
type Mark struct {
	SourceIP, UserAgent string
	// Actor is the ActorHeader value.
	Actor string
	Next  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Mark) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if t.SourceIP != "" {
		r.Header.Set(SourceIPHeader, t.SourceIP)
	}
	if t.Actor != "" {
		r.Header.Set(ActorHeader, t.Actor)
	}
	r.Header.Set("User-Agent", strings.TrimSpace(r.Header.Get("User-Agent")+" "+t.UserAgent))
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
