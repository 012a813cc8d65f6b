package azuresim

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

func (s *Server) roleAssignmentJSON(ra *azureworld.RoleAssignment) map[string]any {
	sub := ""
	if segs := strings.Split(strings.Trim(ra.Scope, "/"), "/"); len(segs) >= 2 {
		sub = segs[1]
	}
	ptype := ra.PrincipalType
	if p := azureworld.Of(s.World).Principals.Lookup(ra.PrincipalID); p == nil || p.Deleted {
		ptype = "Unknown" // the identity was deleted: Azure shows "Identity not found"
	}
	return map[string]any{"id": ra.ID, "name": ra.Name, "type": "Microsoft.Authorization/roleAssignments",
		"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + ra.RoleDefinition,
			"principalId":      ra.PrincipalID, "principalType": ptype, "scope": ra.Scope,
			"createdOn": timeStr(ra.CreatedOn), "updatedOn": timeStr(ra.CreatedOn), "createdBy": ra.CreatedBy, "updatedBy": ra.CreatedBy,
			"description": ra.Description}}
}

var (
	principalFilterRe  = regexp.MustCompile(`(?i)^\s*principalId\s+eq\s+'([^']+)'\s*$`)
	assignedToFilterRe = regexp.MustCompile(`(?i)^\s*assignedTo\('([^']+)'\)\s*$`)
	atScopeFilterRe    = regexp.MustCompile(`(?i)^\s*atScope\(\)\s*$`)
)

// listRoleAssignments serves ListForScope, with an optional $filter: the
// assignments that apply at the scope (above it) and, unless atScope(), those
// below it.
func (s *Server) listRoleAssignments(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	filter := c.query.Get("$filter")
	principal, atScope := "", false
	switch {
	case filter == "":
	case principalFilterRe.MatchString(filter):
		principal = principalFilterRe.FindStringSubmatch(filter)[1]
	case assignedToFilterRe.MatchString(filter):
		principal = assignedToFilterRe.FindStringSubmatch(filter)[1]
	case atScopeFilterRe.MatchString(filter):
		atScope = true
	default:
		return nil, errf(http.StatusBadRequest, "UnsupportedQuery", "The filter '%s' is not supported. Supported filters are 'atScope()', 'principalId eq {id}' and 'assignedTo({id})'.", filter)
	}
	var out []any
	for _, id := range az.RoleAssignments.Keys() {
		ra := az.RoleAssignments.Lookup(id)
		above := azureworld.ScopeCovers(ra.Scope, c.scope)
		below := azureworld.ScopeCovers(c.scope, ra.Scope)
		if !above && !(below && !atScope) {
			continue
		}
		if principal != "" && !strings.EqualFold(ra.PrincipalID, principal) {
			continue
		}
		out = append(out, s.roleAssignmentJSON(ra))
	}
	c.param("filter", filter)
	return ok(map[string]any{"value": nonNil(out)}), nil
}

// roleAssignment serves Get and DeleteByID ({scope}/…/roleAssignments/{name});
// deleting an assignment that is gone answers 204, as ARM does.
func (s *Server) roleAssignment(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	name := c.vars["roleAssignmentName"]
	ra := az.RoleAssignments.Lookup(strings.ToLower(c.scope + "/providers/Microsoft.Authorization/roleAssignments/" + name))
	if ra == nil {
		if c.r.Method == http.MethodDelete {
			return &response{status: http.StatusNoContent}, nil
		}
		return nil, errf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
	}
	c.touch("Microsoft.Authorization/roleAssignments", ra.ID)
	body := s.roleAssignmentJSON(ra)
	if c.r.Method == http.MethodDelete {
		if l := azureworld.Of(s.World).LockBlocking(ra.Scope, true); l != nil {
			return nil, scopeLocked(ra.Scope, l, "write")
		}
		_ = azureworld.Of(s.World).RoleAssignmentChange(ra.ID, func() error {
			azureworld.Of(s.World).DeleteRoleAssignment(ra)
			return nil
		})
		c.param("principalId", ra.PrincipalID)
		c.param("roleDefinition", ra.RoleDefinition)
	}
	return ok(body), nil
}

func lockJSON(l *azureworld.Lock) map[string]any {
	return map[string]any{"id": l.ID, "name": l.Name, "type": "Microsoft.Authorization/locks",
		"properties": map[string]any{"level": l.Level, "notes": l.Notes, "owners": []any{}}}
}

// listLocks serves the locks that apply at a scope (its own and those of
// the scopes above it).
func (s *Server) listLocks(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	var out []any
	for _, id := range az.Locks.Keys() {
		if l := az.Locks.Lookup(id); azureworld.ScopeCovers(l.Scope, c.scope) {
			out = append(out, lockJSON(l))
		}
	}
	return ok(map[string]any{"value": nonNil(out)}), nil
}

// putLock serves CreateOrUpdateByScope: 201 for a new lock, 200 for an
// update; the scope must name a known resource.
func (s *Server) putLock(c *call) (*response, error) {
	if !scopeExists(s.World, azureworld.Of(s.World).Subscriptions.Lookup(c.sub), c.scope) {
		return nil, scopeNotFound(c.scope)
	}
	var in struct {
		Properties *struct {
			Level string `json:"level"`
			Notes string `json:"notes"`
		} `json:"properties"`
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	if in.Properties == nil {
		return nil, errf(http.StatusBadRequest, "InvalidRequestContent", "The lock properties are required.")
	}
	l, created, err := azureworld.Of(s.World).PutLock(c.scope, c.vars["lockName"], in.Properties.Level, in.Properties.Notes)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "LockLevelInvalid", "%v", err)
	}
	c.touch("Microsoft.Authorization/locks", l.ID)
	c.touch(resourceTypeOf(c.scope), c.scope)
	c.param("level", l.Level)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &response{status: status, body: lockJSON(l)}, nil
}

// lock serves GetByScope and DeleteByScope; deleting a lock that is gone
// answers 204, as ARM does.
func (s *Server) lock(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	name := c.vars["lockName"]
	id := strings.ToLower(c.scope + "/providers/Microsoft.Authorization/locks/" + name)
	l := az.Locks.Lookup(id)
	if l == nil {
		if c.r.Method == http.MethodDelete {
			return &response{status: http.StatusNoContent}, nil
		}
		return nil, errf(http.StatusNotFound, "LockNotFound", "The lock '%s' could not be found.", name)
	}
	c.touch("Microsoft.Authorization/locks", l.ID)
	if c.r.Method == http.MethodDelete {
		az.Locks.Delete(id)
	}
	return ok(lockJSON(l)), nil
}

// scopeNotFound is ARM's answer for an extension resource at an unknown scope.
func scopeNotFound(scope string) *armError {
	return errf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", scope)
}

// tagsOfLocked returns the tag map of a taggable resource.
func tagsOfLocked(w *world.World, scope string) (world.Tags, bool) {
	az := azureworld.Of(w)
	key := strings.ToLower(scope)
	ensure := func(t *world.Tags) world.Tags {
		if *t == nil {
			*t = world.Tags{}
		}
		return *t
	}
	if vm := az.VMs.Lookup(key); vm != nil && !vm.Deleted {
		return ensure(&w.Instances.Lookup(vm.ID).Tags), true
	}
	if _, v := azureworld.Of(w).Disk(scope); v != nil {
		return ensure(&v.Tags), true
	}
	if sn := azureworld.Of(w).Snapshot(scope); sn != nil {
		return ensure(&sn.Tags), true
	}
	if e := azureworld.Of(w).NIC(scope); e != nil {
		return ensure(&e.Tags), true
	}
	if g := az.NSGs.Lookup(key); g != nil {
		return ensure(&g.Tags), true
	}
	return nil, false
}

// tags serves Microsoft.Resources/tags/default at a resource scope: GET,
// PUT (replace) and PATCH with operation Merge, Replace or Delete.
func (s *Server) tags(c *call) (*response, error) {
	scope := c.scope
	tags, found := tagsOfLocked(s.World, scope)
	if !found {
		return nil, scopeNotFound(scope)
	}
	c.touch(resourceTypeOf(scope), scope)
	if c.r.Method != http.MethodGet {
		var in struct {
			Operation  string `json:"operation"`
			Properties struct {
				Tags map[string]string `json:"tags"`
			} `json:"properties"`
		}
		if err := c.decodeBody(&in); err != nil {
			return nil, err
		}
		if l := azureworld.Of(s.World).LockBlocking(scope, true); l != nil {
			return nil, scopeLocked(scope, l, "write")
		}
		op := in.Operation
		if c.r.Method == http.MethodPut {
			op = "Replace"
		}
		switch op {
		case "Merge":
			for k, v := range in.Properties.Tags {
				tags[k] = v
			}
		case "Replace":
			for k := range tags {
				delete(tags, k)
			}
			for k, v := range in.Properties.Tags {
				tags[k] = v
			}
		case "Delete":
			for k, v := range in.Properties.Tags {
				if cur, ok := tags[k]; ok && (v == "" || cur == v) {
					delete(tags, k)
				}
			}
		default:
			return nil, errf(http.StatusBadRequest, "InvalidTagOperation", "The tag operation '%s' is invalid. Valid operations are Merge, Replace and Delete.", in.Operation)
		}
		c.param("operation", op)
	}
	return ok(map[string]any{"id": scope + "/providers/Microsoft.Resources/tags/default", "name": "default",
		"type": "Microsoft.Resources/tags", "properties": map[string]any{"tags": tagsOrEmpty(tags)}}), nil
}
