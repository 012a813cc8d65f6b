package gcpsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	crm "google.golang.org/api/cloudresourcemanager/v3"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// Resource Manager: a project's IAM policy, on the v1 paths gcloud uses
// (projects get-iam-policy, add-iam-policy-binding) and the v3 paths the
// current client libraries use. Both answer the same Policy message.
func resourceManagerRoutes() []*route {
	s := "cloudresourcemanager"
	var out []*route
	for _, v := range []string{"v1", "v3"} {
		out = append(out,
			r("POST", v+"/projects/{project}:getIamPolicy", s, "projects.getIamPolicy", "", true, 120*time.Millisecond, projectGetIamPolicy),
			r("POST", v+"/projects/{project}:setIamPolicy", s, "projects.setIamPolicy", "", false, 300*time.Millisecond, projectSetIamPolicy))
	}
	return out
}

// projectFor resolves {project} (an id or, on v3, a number), checks perm
// on it and names it for the audit log.
func (c *call) projectFor(perm string) (*gcpworld.Project, *apiError) {
	g := gcpworld.Of(c.w)
	id := c.vars["project"]
	if g.Projects.Lookup(id) == nil {
		for _, k := range g.Projects.Keys() {
			if strconv.FormatUint(g.Projects.Lookup(k).Number, 10) == id {
				id = k
			}
		}
	}
	if e := c.authorize(id, perm); e != nil {
		return nil, e
	}
	p := g.Projects.Lookup(id)
	c.resource("project", "projects/"+p.ID, map[string]string{"project_id": p.ID})
	return p, nil
}

func policyProto(p *gcpworld.Project) *crm.Policy {
	out := &crm.Policy{Version: 1, Etag: p.PolicyETag()}
	for _, role := range world.SortedKeys(p.Bindings) {
		members := append([]string(nil), p.Bindings[role]...)
		sort.Strings(members)
		out.Bindings = append(out.Bindings, &crm.Binding{Role: role, Members: members})
	}
	return out
}

func projectGetIamPolicy(c *call) (any, *apiError) {
	p, e := c.projectFor("resourcemanager.projects.getIamPolicy")
	if e != nil {
		return nil, e
	}
	return policyProto(p), nil
}

// memberTypes are the member prefixes a project policy accepts.
var memberTypes = []string{"user:", "serviceAccount:", "group:", "domain:", "principal:", "principalSet:", "deleted:"}

// projectSetIamPolicy replaces the project's policy. An etag that is not
// the current policy's means someone changed it since the caller read it:
// 409 ABORTED, as Google answers, so read-modify-write loops retry.
func projectSetIamPolicy(c *call) (any, *apiError) {
	p, e := c.projectFor("resourcemanager.projects.setIamPolicy")
	if e != nil {
		return nil, e
	}
	var req crm.SetIamPolicyRequest
	if e := c.decodeJSON(&req); e != nil {
		return nil, e
	}
	if req.Policy == nil {
		return nil, badRequest(c.rt.service, "Request contains an invalid argument: policy is required.")
	}
	if req.Policy.Etag != "" && req.Policy.Etag != p.PolicyETag() {
		return nil, &apiError{code: 409, status: "ABORTED",
			message: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."}
	}
	bindings := map[string][]string{}
	for _, b := range req.Policy.Bindings {
		if b.Condition != nil {
			return nil, badRequest(c.rt.service, "Conditional role bindings are not served by the firedrill GCP simulator (role %s).", b.Role)
		}
		if !gcpworld.RoleKnown(b.Role) {
			return nil, badRequest(c.rt.service, "Role (%s) does not exist in the resource's hierarchy.", b.Role)
		}
		for _, m := range b.Members {
			if !validMember(m) {
				return nil, badRequest(c.rt.service, "Invalid member '%s': policy members must be of the form \"<type>:<value>\".", m)
			}
			if !contains(bindings[b.Role], m) {
				bindings[b.Role] = append(bindings[b.Role], m)
			}
		}
	}
	if len(bindings["roles/owner"]) == 0 {
		return nil, &apiError{code: 400, status: "FAILED_PRECONDITION",
			message: fmt.Sprintf("The policy of project %s must keep at least one owner.", p.ID)}
	}
	if err := gcpworld.Of(c.w).SetBindings(p.ID, bindings); err != nil {
		return nil, &apiError{code: 500, status: "INTERNAL", message: err.Error()}
	}
	return policyProto(p), nil
}

func validMember(m string) bool {
	for _, t := range memberTypes {
		if v, ok := strings.CutPrefix(m, t); ok && v != "" {
			return true
		}
	}
	return false
}
