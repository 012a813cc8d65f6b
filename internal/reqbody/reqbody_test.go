package reqbody_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/internal/reqbody"
)

// streamBody is a body net/http cannot know to be in memory, like the
// SDK's; it records being closed.
type streamBody struct {
	io.Reader
	closed bool
}

func (b *streamBody) Close() error { b.closed = true; return nil }

// seen records what reached the next RoundTripper.
type seen struct {
	body   io.ReadCloser
	length int64
	data   string
}

func (s *seen) RoundTrip(r *http.Request) (*http.Response, error) {
	s.body, s.length = r.Body, r.ContentLength
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	s.data = string(b)
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

func TestASmallBodyIsSentFromMemory(t *testing.T) {
	next := &seen{}
	body := &streamBody{Reader: strings.NewReader("Action=DescribeInstances&Version=2016-11-15")}
	req := httptest.NewRequest(http.MethodPost, "http://sim/", body)
	req.ContentLength = 43
	_, err := reqbody.Buffered(next, 0).RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, "Action=DescribeInstances&Version=2016-11-15", next.data)
	require.EqualValues(t, 43, next.length)
	require.True(t, body.closed, "the caller's body is closed, as a RoundTripper must")
	require.NotEqual(t, io.ReadCloser(body), next.body, "the body sent is an in-memory copy")
	require.Equal(t, io.ReadCloser(body), req.Body, "the caller's request is not modified")
}

func TestALargeOrUnknownBodyStreams(t *testing.T) {
	for name, length := range map[string]int64{"larger than max": 11, "unknown length": -1} {
		t.Run(name, func(t *testing.T) {
			next := &seen{}
			body := &streamBody{Reader: strings.NewReader("hello world")}
			req := httptest.NewRequest(http.MethodPut, "http://sim/b/k", body)
			req.ContentLength = length
			_, err := reqbody.Buffered(next, 10).RoundTrip(req)
			require.NoError(t, err)
			require.Equal(t, io.ReadCloser(body), next.body)
			require.Equal(t, "hello world", next.data)
		})
	}
}

func TestAShortBodyIsAnError(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "http://sim/", &streamBody{Reader: strings.NewReader("abc")})
	req.ContentLength = 10
	_, err := reqbody.Buffered(&seen{}, 0).RoundTrip(req)
	require.Error(t, err)
}
