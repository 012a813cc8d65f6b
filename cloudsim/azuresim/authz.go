package azuresim

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

func (s *Server) roleAssignmentJSON(ra *world.AzureRoleAssignment) map[string]any {
	sub := ""
	if segs := strings.Split(strings.Trim(ra.Scope, "/"), "/"); len(segs) >= 2 {
		sub = segs[1]
	}
	ptype := ra.PrincipalType
	if p := s.World.AzureLocked().Principals[ra.PrincipalID]; p == nil || p.Deleted {
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

// roleAssignmentRoute serves ListForScope ({scope}/…/roleAssignments with
// an optional $filter) and Get/DeleteByID ({scope}/…/roleAssignments/{name}).
func (s *Server) roleAssignmentRoute(c *call, scope string, rest []string) (*route, *armError) {
	az := s.World.AzureLocked()
	switch {
	case len(rest) == 1 && c.r.Method == http.MethodGet:
		return &route{action: "Microsoft.Authorization/roleAssignments/read", scope: scope, namespace: "Microsoft.Authorization",
			handle: func(c *call) (*response, error) {
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
				for _, id := range sortedIDs(az.RoleAssignments) {
					ra := az.RoleAssignments[id]
					above := world.AzureScopeCovers(ra.Scope, scope)
					below := world.AzureScopeCovers(scope, ra.Scope)
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
			}}, nil
	case len(rest) == 2 && (c.r.Method == http.MethodGet || c.r.Method == http.MethodDelete):
		id := scope + "/providers/Microsoft.Authorization/roleAssignments/" + rest[1]
		ra := az.RoleAssignments[strings.ToLower(id)]
		action := "Microsoft.Authorization/roleAssignments/read"
		if c.r.Method == http.MethodDelete {
			action = "Microsoft.Authorization/roleAssignments/delete"
		}
		return &route{action: action, scope: scope, namespace: "Microsoft.Authorization", handle: func(c *call) (*response, error) {
			if ra == nil || az.RoleAssignments[strings.ToLower(id)] == nil {
				if c.r.Method == http.MethodDelete {
					return &response{status: http.StatusNoContent}, nil
				}
				return nil, errf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", rest[1])
			}
			c.touch("Microsoft.Authorization/roleAssignments", ra.ID)
			body := s.roleAssignmentJSON(ra)
			if c.r.Method == http.MethodDelete {
				if l := s.World.AzureLockBlockingLocked(ra.Scope, true); l != nil {
					return nil, scopeLocked(ra.Scope, l, "write")
				}
				delete(az.RoleAssignments, strings.ToLower(ra.ID))
				c.param("principalId", ra.PrincipalID)
				c.param("roleDefinition", ra.RoleDefinition)
			}
			return ok(body), nil
		}}, nil
	}
	return nil, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The simulator serves role assignment list, get and delete.")
}

func lockJSON(l *world.AzureLock) map[string]any {
	return map[string]any{"id": l.ID, "name": l.Name, "type": "Microsoft.Authorization/locks",
		"properties": map[string]any{"level": l.Level, "notes": l.Notes, "owners": []any{}}}
}

// lockRoute serves management locks by scope (CreateOrUpdateByScope,
// GetByScope, DeleteByScope, ListAtResourceLevel-style listing).
func (s *Server) lockRoute(c *call, scope string, rest []string) (*route, *armError) {
	az := s.World.AzureLocked()
	sub := az.Subscriptions[c.sub]
	switch {
	case len(rest) == 1 && c.r.Method == http.MethodGet:
		return &route{action: "Microsoft.Authorization/locks/read", scope: scope, namespace: "Microsoft.Authorization",
			handle: func(c *call) (*response, error) {
				var out []any
				for _, id := range sortedIDs(az.Locks) {
					if l := az.Locks[id]; world.AzureScopeCovers(l.Scope, scope) {
						out = append(out, lockJSON(l))
					}
				}
				return ok(map[string]any{"value": nonNil(out)}), nil
			}}, nil
	case len(rest) == 2:
		name := rest[1]
		id := scope + "/providers/Microsoft.Authorization/locks/" + name
		switch c.r.Method {
		case http.MethodPut:
			return &route{action: "Microsoft.Authorization/locks/write", scope: scope, namespace: "Microsoft.Authorization",
				handle: func(c *call) (*response, error) {
					if !scopeExists(s.World, sub, scope) {
						return nil, errf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", scope)
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
					l, created, err := s.World.PutAzureLockLocked(scope, name, in.Properties.Level, in.Properties.Notes)
					if err != nil {
						return nil, errf(http.StatusBadRequest, "LockLevelInvalid", "%v", err)
					}
					c.touch("Microsoft.Authorization/locks", l.ID)
					c.touch(resourceTypeOf(scope), scope)
					c.param("level", l.Level)
					status := http.StatusOK
					if created {
						status = http.StatusCreated
					}
					return &response{status: status, body: lockJSON(l)}, nil
				}}, nil
		case http.MethodGet, http.MethodDelete:
			action := "Microsoft.Authorization/locks/read"
			if c.r.Method == http.MethodDelete {
				action = "Microsoft.Authorization/locks/delete"
			}
			return &route{action: action, scope: scope, namespace: "Microsoft.Authorization", handle: func(c *call) (*response, error) {
				l := az.Locks[strings.ToLower(id)]
				if l == nil {
					if c.r.Method == http.MethodDelete {
						return &response{status: http.StatusNoContent}, nil
					}
					return nil, errf(http.StatusNotFound, "LockNotFound", "The lock '%s' could not be found.", name)
				}
				c.touch("Microsoft.Authorization/locks", l.ID)
				if c.r.Method == http.MethodDelete {
					delete(az.Locks, strings.ToLower(id))
				}
				return ok(lockJSON(l)), nil
			}}, nil
		}
	}
	return nil, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The simulator serves lock list, get, put and delete.")
}

// tagsOfLocked returns the tag map of a taggable resource.
func tagsOfLocked(w *world.World, scope string) (world.Tags, bool) {
	az := w.AzureLocked()
	key := strings.ToLower(scope)
	ensure := func(t *world.Tags) world.Tags {
		if *t == nil {
			*t = world.Tags{}
		}
		return *t
	}
	if vm := az.VMs[key]; vm != nil && !vm.Deleted {
		return ensure(&w.Instances[vm.ID].Tags), true
	}
	if _, v := w.AzureDiskLocked(scope); v != nil {
		return ensure(&v.Tags), true
	}
	if sn := w.AzureSnapshotLocked(scope); sn != nil {
		return ensure(&sn.Tags), true
	}
	if e := w.AzureNICLocked(scope); e != nil {
		return ensure(&e.Tags), true
	}
	if g := az.NSGs[key]; g != nil {
		return ensure(&g.Tags), true
	}
	return nil, false
}

// tagsRoute serves Microsoft.Resources/tags/default at a resource scope:
// GET, PUT (replace) and PATCH with operation Merge, Replace or Delete.
func (s *Server) tagsRoute(c *call, scope string) (*route, *armError) {
	action := "Microsoft.Resources/tags/write"
	if c.r.Method == http.MethodGet {
		action = "Microsoft.Resources/tags/read"
	}
	return &route{action: action, scope: scope, namespace: "Microsoft.Resources", handle: func(c *call) (*response, error) {
		tags, found := tagsOfLocked(s.World, scope)
		if !found {
			return nil, errf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", scope)
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
			if l := s.World.AzureLockBlockingLocked(scope, true); l != nil {
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
	}}, nil
}
