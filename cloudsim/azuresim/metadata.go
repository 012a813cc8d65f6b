package azuresim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// CloudName is the name the simulated cloud is registered under in az.
const CloudName = "firedrill"

// serveMetadata answers GET /metadata/endpoints without authentication, as
// ARM does: what `az cloud register --endpoint-resource-manager` and
// azure-sdk cloud discovery read. api-version 2015-01-01 is the single-cloud
// shape msrestazure reads; later versions are the list of clouds. The login
// endpoint is an ADFS-style authority (https://host/adfs), for which MSAL
// asks no instance-discovery endpoint.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	s.World.LockAs(simhttp.Caller("azure", r))
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 40*time.Millisecond, 0.25).Round(time.Millisecond).String())
	s.World.Unlock()
	if r.Method != http.MethodGet {
		writeARMError(w, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The metadata endpoint only answers GET."), "")
		return
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeARMError(w, errf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."), "")
		return
	}
	auth := map[string]any{"loginEndpoint": base + "/adfs", "audiences": []string{"https://management.core.windows.net/", base + "/"},
		"tenant": "adfs", "identityProvider": "ADFS"}
	if v == "2015-01-01" {
		writeJSON(w, http.StatusOK, map[string]any{"galleryEndpoint": base + "/", "graphEndpoint": base + "/",
			"portalEndpoint": base + "/", "authentication": auth})
		return
	}
	writeJSON(w, http.StatusOK, []any{map[string]any{
		"name": CloudName, "resourceManager": base + "/", "gallery": base + "/", "graph": base + "/", "graphAudience": base + "/",
		"microsoftGraphResourceId": base + "/", "portal": base + "/", "authentication": auth,
		"suffixes": map[string]any{"storage": "core.windows.net", "keyVaultDns": "vault.azure.net", "acrLoginServer": "azurecr.io"},
	}})
}

// servicePrincipalNameFilterRe is Microsoft Graph's filter az uses to
// resolve an application id.
var servicePrincipalNameFilterRe = regexp.MustCompile(`(?i)^\s*servicePrincipalNames/any\(\w+:\w+\s+eq\s+'([^']+)'\)\s*$`)

// serveGraph is the part of Microsoft Graph az reads to show and resolve
// principals: directoryObjects/getByIds, directoryObjects/{id},
// servicePrincipals/{id} and servicePrincipals?$filter=servicePrincipalNames/any(…).
// Any token of the tenant may read the directory.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, lsegs []string, body []byte) {
	s.World.LockAs(simhttp.Caller("azure", r))
	defer s.World.Unlock()
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 90*time.Millisecond, 0.25).Round(time.Millisecond).String())
	w.Header().Set("request-id", s.World.GUIDLocked())
	az := azureworld.Of(s.World)
	raw, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	if _, _, err := az.AuthenticateToken(raw, s.World.Now()); err != nil {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. "+err.Error())
		return
	}
	path := strings.Join(lsegs[1:], "/")
	var out []any
	switch {
	case r.Method == http.MethodPost && path == "directoryobjects/getbyids":
		var in struct {
			IDs []string `json:"ids"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body: "+err.Error())
			return
		}
		for _, id := range in.IDs {
			if p := az.Principals.Lookup(strings.ToLower(id)); p != nil && !p.Deleted {
				out = append(out, graphPrincipal(p))
			}
		}
	case r.Method == http.MethodGet && path == "serviceprincipals":
		m := servicePrincipalNameFilterRe.FindStringSubmatch(r.URL.Query().Get("$filter"))
		if m == nil {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
				"The simulator's Microsoft Graph serves servicePrincipals with $filter=servicePrincipalNames/any(c:c eq '{appId}').")
			return
		}
		for _, id := range az.Principals.Keys() {
			if p := az.Principals.Lookup(id); !p.Deleted && strings.EqualFold(p.AppID, m[1]) {
				out = append(out, graphPrincipal(p))
			}
		}
	case r.Method == http.MethodGet && len(lsegs) == 3 && (lsegs[1] == "directoryobjects" || lsegs[1] == "serviceprincipals"):
		p := az.Principals.Lookup(lsegs[2])
		if p == nil || p.Deleted {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+lsegs[2]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		writeJSON(w, http.StatusOK, graphPrincipal(p))
		return
	default:
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
			"The firedrill simulator's Microsoft Graph does not serve the operation '"+r.Method+" /"+strings.Join(lsegs, "/")+"'.")
		return
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": out})
}

func graphPrincipal(p *azureworld.Principal) map[string]any {
	typ := "Application"
	if p.Kind == azureworld.ManagedIdentity {
		typ = "ManagedIdentity"
	}
	return map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal", "id": p.ObjectID, "appId": p.AppID,
		"displayName": p.DisplayName, "servicePrincipalNames": []string{p.AppID}, "servicePrincipalType": typ, "accountEnabled": true}
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
