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

// putRoleAssignment serves RoleAssignments.Create ({scope}/…/roleAssignments/{name},
// the name a GUID the client draws): 201 with the assignment, which
// authorizes at once (only deletions propagate with a lag). ARM refuses a
// second assignment of the same role to the same principal at the same
// scope, and a reused name, with RoleAssignmentExists.
func (s *Server) putRoleAssignment(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	type assignmentProps struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Description      string `json:"description"`
	}
	var in struct {
		Properties *assignmentProps `json:"properties"`
		// Debian's az 2.45 with the 2015-07-01 API (the hybrid profile)
		// sends the properties unwrapped.
		assignmentProps
	}
	if err := c.decodeBody(&in); err != nil {
		return nil, err
	}
	p := in.Properties
	if p == nil && in.RoleDefinitionID != "" {
		p = &in.assignmentProps
	}
	if p == nil || p.RoleDefinitionID == "" || p.PrincipalID == "" {
		return nil, errf(http.StatusBadRequest, "InvalidRoleAssignmentRequest", "The role assignment properties roleDefinitionId and principalId are required.")
	}
	name := c.vars["roleAssignmentName"]
	if !guidRe.MatchString(name) {
		return nil, errf(http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	def := az.RoleDefinitions.Lookup(strings.ToLower(lastSeg(p.RoleDefinitionID)))
	if def == nil {
		return nil, errf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", lastSeg(p.RoleDefinitionID))
	}
	if !scopeExists(s.World, az.Subscriptions.Lookup(c.sub), c.scope) {
		return nil, scopeNotFound(c.scope)
	}
	if l := az.LockBlocking(c.scope, true); l != nil {
		return nil, scopeLocked(c.scope, l, "write")
	}
	id := strings.TrimSuffix(c.scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
	for _, ra := range az.RoleAssignments.All() {
		if strings.EqualFold(ra.ID, id) || (strings.EqualFold(ra.Scope, c.scope) && ra.RoleDefinition == def.Name && strings.EqualFold(ra.PrincipalID, p.PrincipalID)) {
			return nil, errf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
		}
	}
	principal := az.Principals.Lookup(strings.ToLower(p.PrincipalID))
	if principal == nil || principal.Deleted {
		return nil, errf(http.StatusBadRequest, "PrincipalNotFound",
			"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.",
			strings.ReplaceAll(p.PrincipalID, "-", ""), az.Tenant)
	}
	ra, err := az.AssignRoleNamed(c.scope, name, def.Name, principal.ObjectID, c.token.ObjectID)
	if err != nil {
		return nil, err
	}
	ra.Description = p.Description
	c.touch("Microsoft.Authorization/roleAssignments", ra.ID)
	c.param("principalId", ra.PrincipalID)
	c.param("roleDefinition", ra.RoleDefinition)
	return &response{status: http.StatusCreated, body: s.roleAssignmentJSON(ra)}, nil
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// roleDefinitionJSON renders a role definition as seen from scope (ids of
// definitions carry the subscription they are read under).
func roleDefinitionJSON(sub string, d *azureworld.RoleDefinition) map[string]any {
	typ, scopes := "BuiltInRole", []string{"/"}
	if d.Custom {
		typ, scopes = "CustomRole", []string{"/subscriptions/" + sub}
	}
	if len(d.AssignableScopes) > 0 {
		scopes = d.AssignableScopes
	}
	prefix := ""
	if sub != "" {
		prefix = "/subscriptions/" + sub
	}
	orEmpty := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return map[string]any{"id": prefix + "/providers/Microsoft.Authorization/roleDefinitions/" + d.Name, "name": d.Name,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{"roleName": d.RoleName, "type": typ, "description": d.Description, "assignableScopes": scopes,
			"permissions": []any{map[string]any{"actions": orEmpty(d.Actions), "notActions": orEmpty(d.NotActions),
				"dataActions": orEmpty(d.DataActions), "notDataActions": orEmpty(d.NotDataActions)}}}}
}

var (
	roleNameFilterRe = regexp.MustCompile(`(?i)^\s*roleName\s+eq\s+'([^']*)'\s*$`)
	roleTypeFilterRe = regexp.MustCompile(`(?i)^\s*type\s+eq\s+'(BuiltInRole|CustomRole)'\s*$`)
)

// listRoleDefinitions serves RoleDefinitions.List at a scope, with the
// filters roleName eq '…' and type eq 'BuiltInRole'|'CustomRole'.
func (s *Server) listRoleDefinitions(c *call) (*response, error) {
	az := azureworld.Of(s.World)
	filter := c.query.Get("$filter")
	name, typ := "", ""
	switch {
	case filter == "":
	case roleNameFilterRe.MatchString(filter):
		name = roleNameFilterRe.FindStringSubmatch(filter)[1]
	case roleTypeFilterRe.MatchString(filter):
		typ = strings.ToLower(roleTypeFilterRe.FindStringSubmatch(filter)[1])
	default:
		return nil, errf(http.StatusBadRequest, "UnsupportedQuery", "The filter '%s' is not supported. Supported filters are 'roleName eq {name}' and 'type eq {BuiltInRole|CustomRole}'.", filter)
	}
	var defs []map[string]any
	for _, k := range az.RoleDefinitions.Keys() {
		d := az.RoleDefinitions.Lookup(k)
		if (name != "" && !strings.EqualFold(d.RoleName, name)) || (typ != "" && (typ == "customrole") != d.Custom) {
			continue
		}
		defs = append(defs, roleDefinitionJSON(c.sub, d))
	}
	c.param("filter", filter)
	return c.page(len(defs), func(i int) any { return defs[i] })
}

// getRoleDefinition serves RoleDefinitions.Get and GetByID.
func (s *Server) getRoleDefinition(c *call) (*response, error) {
	id := c.vars["roleDefinitionId"]
	d := azureworld.Of(s.World).RoleDefinitions.Lookup(strings.ToLower(id))
	if d == nil {
		return nil, errf(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", id)
	}
	return ok(roleDefinitionJSON(c.sub, d)), nil
}
