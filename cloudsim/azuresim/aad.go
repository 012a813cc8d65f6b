package azuresim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// serveAAD answers the two Entra ID routes azidentity's confidential client
// needs: OpenID discovery and the v2.0 token endpoint (client credentials),
// for the tenant and for an ADFS-style authority (/adfs, what az uses).
// Tokens are unsigned JWTs carrying oid, appid and tid.
func (s *Server) serveAAD(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	tenant := segs[0]
	base := baseURL(r)
	s.World.LockAs(simhttp.Caller("azure", r))
	defer s.World.Unlock()
	az := azureworld.Of(s.World)
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 80e6, 0.25).Round(1e6).String())
	// "adfs" is the authority of an ADFS-style identity provider (as Azure
	// Stack Hub's): MSAL skips instance discovery for it, which az needs
	// offline (see PrepareCLIConfig).
	adfs := strings.EqualFold(tenant, "adfs")
	known := az.Tenant != "" && (strings.EqualFold(tenant, az.Tenant) || tenant == "organizations" || tenant == "common" || adfs)
	if !known {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request",
			"error_description": fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant),
			"error_codes":       []int{90002}})
		return
	}
	path := strings.ToLower(strings.Join(segs[1:], "/"))
	switch {
	case r.Method == http.MethodGet && (path == "v2.0/.well-known/openid-configuration" || adfs && path == ".well-known/openid-configuration"):
		t, v := az.Tenant, "/v2.0"
		if adfs {
			t, v = "adfs", ""
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/" + t + "/oauth2" + v + "/token",
			"authorization_endpoint":                base + "/" + t + "/oauth2" + v + "/authorize",
			"device_authorization_endpoint":         base + "/" + t + "/oauth2" + v + "/devicecode",
			"issuer":                                base + "/" + t + v,
			"jwks_uri":                              base + "/" + t + "/discovery" + v + "/keys",
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"tenant_region_scope":                   "EU",
		})
	case r.Method == http.MethodPost && (path == "oauth2/v2.0/token" || adfs && path == "oauth2/token"):
		s.issueToken(w, body)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "invalid_request",
			"error_description": "AADSTS900561: The endpoint only accepts GET (discovery) and POST (token) requests."})
	}
}

func (s *Server) issueToken(w http.ResponseWriter, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "AADSTS900144: The request body must be form-encoded."})
		return
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type",
			"error_description": fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'; the simulator supports client_credentials.", gt)})
		return
	}
	clientID := form.Get("client_id")
	app := azureworld.Of(s.World).AppByClientID(clientID)
	if app == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unauthorized_client", "error_codes": []int{700016},
			"error_description": fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", clientID, azureworld.Of(s.World).Tenant)})
		return
	}
	if form.Get("client_secret") != app.Secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_codes": []int{7000215},
			"error_description": fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)})
		return
	}
	aud := "https://management.core.windows.net/"
	for _, sc := range strings.Fields(form.Get("scope")) {
		if a, ok := strings.CutSuffix(sc, "/.default"); ok {
			aud = a
			if !strings.HasSuffix(aud, "/") {
				aud += "/"
			}
			aud = strings.TrimSuffix(aud, "//") + "/"
			break
		}
	}
	tok, _, err := azureworld.Of(s.World).IssueToken(app.ObjectID, aud, "client_credentials", azureworld.AppTokenTTL)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "temporarily_unavailable", "error_description": err.Error()})
		return
	}
	secs := s.World.ClientSeconds(azureworld.AppTokenTTL - time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}
