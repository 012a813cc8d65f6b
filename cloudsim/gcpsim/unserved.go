package gcpsim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/simcloud"
)

// Operations lists every REST method the simulator serves, by service
// ("compute", "iam", "cloudresourcemanager", "logging", "securitycenter")
// and method name as the API reference names it ("instances.list"),
// sorted and without duplicates (a method served on several paths is
// listed once).
func Operations() []simcloud.Operation {
	seen := map[simcloud.Operation]bool{}
	var out []simcloud.Operation
	for _, rt := range allRoutes() {
		op := simcloud.Operation{Service: rt.service, Name: rt.method}
		if !seen[op] {
			seen[op] = true
			out = append(out, op)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// scopeCollections are path collections that locate a resource rather
// than name its type.
var scopeCollections = map[string]bool{"projects": true, "zones": true, "regions": true, "locations": true,
	"organizations": true, "folders": true, "global": true}

// unservedOperation names the REST method a request the simulator does not
// serve was most likely for, e.g. "compute.instances.setMetadata" for
// POST /compute/v1/projects/p/zones/z/instances/vm/setMetadata, so the
// error tells the user what is missing rather than that a resource does
// not exist.
func unservedOperation(verb, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	service := ""
	switch {
	case segs[0] == "batch":
		// gcloud sends several lists (images, zones, …) as one multipart
		// request to /batch/compute/v1.
		return "compute.batch"
	case len(segs) > 2 && prefixedAPIs[segs[0]]:
		service, segs = segs[0], segs[2:]
	case len(segs) > 1 && strings.HasPrefix(segs[0], "v") && len(segs[0]) <= 8:
		segs = segs[1:]
		switch {
		case strings.Contains(path, "/serviceAccounts") || strings.Contains(path, "/roles"):
			service = "iam"
		case strings.Contains(path, "/sources") || strings.Contains(path, "/findings") || strings.Contains(path, "/muteConfigs"):
			service = "securitycenter"
		case strings.Contains(path, "/entries") || strings.Contains(path, "/logs") || strings.Contains(path, "/sinks"):
			service = "logging"
		case segs[0] == "projects" || segs[0] == "folders" || segs[0] == "organizations":
			service = "cloudresourcemanager"
		}
	}
	if service == "" {
		return ""
	}
	custom := ""
	last := segs[len(segs)-1]
	if i := strings.IndexByte(last, ':'); i >= 0 {
		segs[len(segs)-1], custom = last[:i], last[i+1:]
	}
	collection, hasID, aggregated := "projects", false, false
	for i := 0; i < len(segs); {
		s := segs[i]
		switch {
		case s == "global":
			i++
			continue
		case s == "aggregated":
			aggregated = true
			i++
			continue
		case i == len(segs)-1 && hasID && !scopeCollections[collection] && service == "compute":
			custom = s // a Compute custom verb: …/instances/vm/setMetadata
			i++
			continue
		}
		if !scopeCollections[s] || i+2 >= len(segs) {
			collection = s
		}
		hasID = i+1 < len(segs)
		i += 2
	}
	method := custom
	if method == "" {
		switch verb {
		case "GET":
			method = "list"
			if hasID {
				method = "get"
			} else if aggregated {
				method = "aggregatedList"
			}
		case "POST":
			method = "create"
			if service == "compute" {
				method = "insert"
			}
		case "DELETE":
			method = "delete"
		case "PATCH":
			method = "patch"
		case "PUT":
			method = "update"
		default:
			method = strings.ToLower(verb)
		}
	}
	if full, ok := map[string]string{"b": "buckets", "o": "objects"}[collection]; ok && service == "storage" {
		collection = full // the JSON API abbreviates its collections in paths
	}
	return fmt.Sprintf("%s.%s.%s", service, collection, method)
}

// unserved is the answer to a request no route serves: Google's 404
// envelope naming the operation. (Not 501: gcloud retries every 5xx.)
func unserved(verb, path string) *apiError {
	msg := fmt.Sprintf("%s %s is not served by the firedrill GCP simulator", verb, path)
	if op := unservedOperation(verb, path); op != "" {
		msg = fmt.Sprintf("Method %s (%s %s) is not served by the firedrill GCP simulator; docs/sim-operations.md lists what it serves", op, verb, path)
	}
	e := &apiError{code: 404, status: "NOT_FOUND", message: msg}
	if strings.HasPrefix(strings.TrimPrefix(path, "/"), "compute/") {
		e.legacy, e.reason = true, "notFound"
	}
	return e
}
