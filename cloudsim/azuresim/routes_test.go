package azuresim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/clock"
	"github.com/firedrill-ir/firedrill/cloudsim/demo"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// routeEnv is a server over the Azure demo world. It is built here rather
// than with azuresimtest, which imports this package.
func routeEnv(t *testing.T) (*Server, *demo.AzureEnv) {
	t.Helper()
	w := world.New(clock.NewManual(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)), 1)
	env, err := demo.SeedAzure(w, demo.AzureOptions{ScaleInAfter: -1})
	require.NoError(t, err)
	return New(w), env
}

// samplePath fills a route's template with sample values: the demo
// subscription and resource group, so that resolution gets past their
// existence checks, and placeholders elsewhere. fold changes the case of
// what ARM matches case-insensitively and canonicalizes (literals,
// subscription, resource group, scopes); resource names stay as sent.
func samplePath(rt *route, env *demo.AzureEnv, fold func(string) string) string {
	rgScope := "subscriptions/" + env.Subscription + "/resourceGroups/" + env.ResourceGroup
	segs := splitTemplate(rt.path)
	for i, sg := range segs {
		name, isVar := templateVar(sg)
		switch {
		case !isVar:
			segs[i] = fold(sg)
		case name == "subscriptionId":
			segs[i] = fold(env.Subscription)
		case name == "resourceGroupName":
			segs[i] = fold(env.ResourceGroup)
		case name == "scope":
			segs[i] = fold(rgScope)
		case name == "resourceUri":
			segs[i] = fold(strings.TrimPrefix(env.VMs[0], "/"))
		case name == "*":
			segs[i] = "sample/op"
		default:
			segs[i] = "sample-" + name
		}
	}
	return "/" + strings.Join(segs, "/")
}

// resolveAs resolves method and path as serveARM would, without running
// the operation.
func resolveAs(s *Server, method, path string) (*call, *route, *armError) {
	p, segs, lsegs := splitPath(path)
	c := &call{s: s, w: s.World, r: httptest.NewRequest(method, "https://management.test"+path, nil), path: p, segs: segs, lsegs: lsegs}
	s.World.Lock()
	defer s.World.Unlock()
	rt, aerr := s.resolve(c)
	return c, rt, aerr
}

// TestRouteTableResolvesEveryRoute walks the table: every route answers a
// path built from its own template, in any letter case, with its scope in
// canonical case; catch-alls answer with their ARM error.
func TestRouteTableResolvesEveryRoute(t *testing.T) {
	s, env := routeEnv(t)
	require.NotEmpty(t, s.routes)
	for _, rt := range s.routes {
		method := rt.method
		if method == "" {
			method = http.MethodPatch // an any-method route: a method no earlier route of its path takes
		}
		t.Run(method+" "+rt.path, func(t *testing.T) {
			var scope string
			for i, fold := range []func(string) string{func(s string) string { return s }, strings.ToUpper, strings.ToLower} {
				p := samplePath(rt, env, fold)
				c, got, aerr := resolveAs(s, method, p)
				if rt.unserved != nil {
					require.Nil(t, got, "a catch-all runs nothing")
					require.NotNil(t, aerr)
					want := rt.unserved(c)
					require.Equal(t, *want, *aerr, "%s answers its own catch-all error", p)
					continue
				}
				require.Nil(t, aerr, "%s %s", method, p)
				require.Same(t, rt, got, "%s %s resolves to its own route (is it shadowed by an earlier one?)", method, p)
				require.NotEmpty(t, rt.namespace)
				if rt.tenant {
					require.Equal(t, "/", c.scope, "a tenant-level route's scope is the root")
				} else {
					require.True(t, strings.HasPrefix(c.scope, "/subscriptions/"+env.Subscription), "scope %q", c.scope)
				}
				require.NotContains(t, c.scope, "{", "scope %q is fully rendered", c.scope)
				if i == 0 {
					scope = c.scope
				}
				require.Equal(t, scope, c.scope, "the scope is canonical whatever the case of the path")
			}
		})
	}
}

// TestUnknownPathsAnswerARMErrors checks the answers for paths the table
// does not serve, and that authorization comes before existence.
func TestUnknownPathsAnswerARMErrors(t *testing.T) {
	s, env := routeEnv(t)
	s.World.Lock()
	token := func(oid string) string {
		raw, _, err := azureworld.Of(s.World).IssueToken(oid, "https://management.core.windows.net/", "test", time.Hour)
		require.NoError(t, err)
		return raw
	}
	admin, vmIdentity := token(env.AdminObjectID), token(env.Identities[0])
	s.World.Unlock()
	sub := "/subscriptions/" + env.Subscription
	rg := sub + "/resourceGroups/" + env.ResourceGroup
	for _, tc := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", "/subscriptions", admin, 200, ""},
		{"GET", "/tenants/x", admin, 404, "InvalidResourceType"},
		{"GET", "/providers/Microsoft.Compute/operations", admin, 404, "InvalidResourceType"},
		{"GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x", admin, 404, "SubscriptionNotFound"},
		{"GET", sub, admin, 200, ""},
		{"GET", sub + "/providers/Microsoft.Insights/metrics", admin, 404, "InvalidResourceType"},
		{"GET", sub + "/providers/Microsoft.Foo/bars", admin, 400, "NoRegisteredProviderFound"},
		{"GET", sub + "/resourceGroups/nope/providers/Microsoft.Web/sites/app", admin, 404, "ResourceGroupNotFound"},
		{"GET", rg, admin, 200, ""},
		{"GET", rg + "/nothing", admin, 404, "InvalidResourceType"},
		{"GET", rg + "/providers/Microsoft.Web/sites/app", admin, 400, "NoRegisteredProviderFound"},
		{"GET", rg + "/providers/Microsoft.Compute/galleries", admin, 404, "InvalidResourceType"},
		{"DELETE", env.VMs[0], admin, 404, "InvalidResourceType"},
		{"GET", env.VMs[0] + "/extensions", admin, 404, "InvalidResourceType"},
		{"GET", rg + "/providers/Microsoft.Compute/disks/nope", admin, 404, "ResourceNotFound"},
		{"GET", strings.ToUpper(rg) + "/providers/microsoft.compute/VIRTUALMACHINES/nope", admin, 404, "ResourceNotFound"},
		{"PATCH", rg + "/providers/Microsoft.Compute/virtualMachines/nope/providers/Microsoft.Resources/tags/default", admin, 404, "ResourceNotFound"},
		{"GET", sub + "/providers/Microsoft.Compute/locations/eastus/operations/nope", admin, 404, "ResourceNotFound"},
		{"PATCH", rg + "/providers/Microsoft.Authorization/roleAssignments", admin, 405, "MethodNotAllowed"},
		{"POST", rg + "/providers/Microsoft.Authorization/locks/x", admin, 405, "MethodNotAllowed"},
		{"DELETE", env.ScaleSet + "/virtualMachines/0", admin, 405, "MethodNotAllowed"},
		// ARM checks access before existence: a caller without the right
		// learns nothing about whether the assignment exists.
		{"DELETE", rg + "/providers/Microsoft.Authorization/roleAssignments/nope", vmIdentity, 403, "AuthorizationFailed"},
		{"DELETE", rg + "/providers/Microsoft.Authorization/roleAssignments/nope", admin, 204, ""},
	} {
		req := httptest.NewRequest(tc.method, "https://management.test"+tc.path+"?api-version=2024-01-01", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+tc.token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "%s %s: %s", tc.method, tc.path, rec.Body)
		require.Equal(t, tc.code, rec.Header().Get("x-ms-error-code"), "%s %s", tc.method, tc.path)
		if tc.code != "" {
			var body struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, tc.code, body.Error.Code, "ARM's error envelope")
			require.NotEmpty(t, body.Error.Message)
		}
	}
}

// TestExtensionRoutesBindAtTheLastProviders: an extension resource hangs off
// the scope before the path's last "providers" segment, so a resource named
// "providers" or an extension below an extension resolves as ARM does.
func TestExtensionRoutesBindAtTheLastProviders(t *testing.T) {
	s, env := routeEnv(t)
	rg := "/subscriptions/" + env.Subscription + "/resourceGroups/" + env.ResourceGroup
	vm := env.VMs[0]

	c, rt, aerr := resolveAs(s, http.MethodGet, strings.ToLower(vm)+"/providers/Microsoft.Authorization/roleAssignments")
	require.Nil(t, aerr)
	require.Equal(t, "Microsoft.Authorization/roleAssignments/read", rt.action)
	require.Equal(t, vm, c.scope, "the scope of an extension is canonical")

	c, rt, aerr = resolveAs(s, http.MethodPost, rg+"/providers/Microsoft.Compute/virtualMachines/providers/runCommand")
	require.Nil(t, aerr)
	require.Equal(t, "Microsoft.Compute/virtualMachines/runCommand/action", rt.action, "a VM named providers")
	require.Equal(t, "providers", c.vars["vmName"])

	_, _, aerr = resolveAs(s, http.MethodGet, rg+"/providers/Microsoft.Authorization/locks/x/providers/y")
	require.NotNil(t, aerr)
	require.Equal(t, "InvalidResourceType", aerr.Code, "the last providers segment decides, not an earlier lock")
}
