package gcpsim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/gcpsim/gcpsimtest"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// TestBadInputGetsErrorEnvelopes sends malformed requests; each must get a
// JSON error envelope with a 4xx status, never a panic or a 5xx.
func TestBadInputGetsErrorEnvelopes(t *testing.T) {
	e := gcpsimtest.New(t)
	e.Instance(t, gcpworld.InstanceSpec{Name: "web-1"})
	base := "/compute/v1/projects/firedrill-test/zones/us-central1-a/instances/web-1"
	cases := []struct {
		method, path, body, token string
		status                    int
	}{
		{"GET", base, "", "", 401},
		{"GET", base, "", "ya29.bogus", 401},
		{"GET", base, "", "a.b.c", 401},
		{"POST", base + "/setTags", `{"items":`, e.AdminToken, 400},
		{"POST", base + "/setTags", `{"items":["UPPER"],"fingerprint":"x"}`, e.AdminToken, 412},
		{"POST", base + "/setLabels", `[]`, e.AdminToken, 400},
		{"POST", base + "/setDiskAutoDelete?autoDelete=maybe&deviceName=x", ``, e.AdminToken, 400},
		{"GET", "/compute/v1/projects/nope/zones/z/instances/x", "", e.AdminToken, 404},
		{"GET", "/compute/v1/projects/firedrill-test/zones/us-central1-a/instances?filter=%28%28", "", e.AdminToken, 400},
		{"GET", "/compute/v1/projects/firedrill-test/zones/us-central1-a/instances?maxResults=-1", "", e.AdminToken, 400},
		{"POST", "/compute/v1/projects/firedrill-test/global/firewalls", `{"name":"x","network":"global/networks/default","allowed":[{"IPProtocol":"tcp","ports":["99999"]}]}`, e.AdminToken, 400},
		{"POST", "/compute/v1/projects/firedrill-test/global/firewalls", `{"name":"x","network":"global/networks/nope","allowed":[{"IPProtocol":"all"}]}`, e.AdminToken, 400},
		{"POST", "/compute/v1/projects/firedrill-test/global/snapshots", `{"name":"s","sourceDisk":"nope"}`, e.AdminToken, 400},
		{"POST", "/v2/entries:list", `{"resourceNames":["projects/firedrill-test"],"filter":"a >"}`, e.AdminToken, 400},
		{"POST", "/v2/entries:list", `{"resourceNames":["folders/1"]}`, e.AdminToken, 400},
		{"POST", "/v2/entries:list", `{}`, e.AdminToken, 400},
		{"POST", "/v2/entries:list", `{"resourceNames":["projects/firedrill-test"],"orderBy":"severity"}`, e.AdminToken, 400},
		{"GET", "/v2/projects/firedrill-test/sources/-/findings?pageSize=x", "", e.AdminToken, 400},
		{"GET", "/v2/projects/firedrill-test/sources/-/locations/mars/findings", "", e.AdminToken, 400},
		{"GET", "/v1/projects/firedrill-test/serviceAccounts/nobody@x", "", e.AdminToken, 404},
		{"GET", "/nothing/here", "", e.AdminToken, 404},
		{"POST", "/token", "grant_type=password", "", 400},
		{"POST", "/token", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=x.y.z", "", 400},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, e.URL+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		require.Contains(t, string(body), `"error"`, "%s %s", tc.method, tc.path)
	}
}
