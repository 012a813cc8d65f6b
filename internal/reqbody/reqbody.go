// Package reqbody sends request bodies from memory, so that a response
// can never overtake the request it answers.
//
// net/http flushes the headers of a request whose body it does not know to
// be in memory, then streams the body from its write goroutine. A server
// that has the whole body may answer before that goroutine has finished,
// and aws-sdk-go-v2 closes the request body as soon as the response
// headers arrive. The write then fails with EOF and the transport closes
// the connection under the response still being read: "deserialization
// failed, … use of closed network connection" after a 200, on every
// retry while the machine is loaded (aws/aws-sdk-go-v2#1825). A body the
// transport knows to be in memory is written with its headers and flushed
// once, after which nothing is left to read from it.
package reqbody

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// DefaultMax is the largest body Buffered reads into memory unless told
// otherwise: API calls are far smaller; bigger uploads stream as before.
const DefaultMax = 8 << 20

// Buffered returns a RoundTripper that reads each request body of known
// length up to max bytes into memory before base sends it. A nil base is
// http.DefaultTransport; max <= 0 is DefaultMax.
func Buffered(base http.RoundTripper, max int64) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if max <= 0 {
		max = DefaultMax
	}
	return &buffered{base: base, max: max}
}

type buffered struct {
	base http.RoundTripper
	max  int64
}

// RoundTrip implements http.RoundTripper.
func (b *buffered) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength <= 0 || req.ContentLength > b.max {
		return b.base.RoundTrip(req)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, req.ContentLength))
	cerr := req.Body.Close() // a RoundTripper always closes the body
	if err != nil {
		return nil, fmt.Errorf("reading the body of %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("closing the body of %s %s: %w", req.Method, req.URL.Redacted(), cerr)
	}
	if int64(len(data)) != req.ContentLength {
		return nil, fmt.Errorf("%s %s: ContentLength=%d with body length %d",
			req.Method, req.URL.Redacted(), req.ContentLength, len(data))
	}
	r := req.Clone(req.Context())
	// io.NopCloser over a *bytes.Reader is what net/http recognises as an
	// in-memory body.
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return b.base.RoundTrip(r)
}
