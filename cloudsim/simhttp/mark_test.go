package simhttp

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarkPlacesTheCallerAndTagsTheUserAgent(t *testing.T) {
	var gotIP, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		gotIP, gotUA = SourceIP(r), r.UserAgent()
	}))
	defer srv.Close()
	client := &http.Client{Transport: &Mark{SourceIP: "203.0.113.45", UserAgent: "firedrill-attacker/fd-1"}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "203.0.113.45", gotIP)
	require.Equal(t, "aws-sdk-go-v2/1.48.0 firedrill-attacker/fd-1", gotUA)
	require.Empty(t, req.Header.Get(SourceIPHeader), "the caller's request is not mutated")

	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "127.0.0.1", gotIP, "without the header the peer address counts")
}
