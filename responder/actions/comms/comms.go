// Package comms holds the communication-plan actions a playbook can run as
// steps (the plan's own notify rules fire at acknowledgement, containment
// and close by themselves).
package comms

import (
	"context"

	"github.com/firedrill-ir/firedrill/responder/action"
)

func init() {
	action.Register(action.Spec{Name: "notify", Domain: "comms", Doc: "send a communication-plan template to roles",
		Params: []string{"template", "roles"}, Required: []string{"template", "roles"}, Run: notify})
}

func notify(_ context.Context, x *action.Run) (map[string]any, error) {
	roles, err := x.Params.Strings("roles")
	if err != nil {
		return nil, err
	}
	tmpl := x.Params.String("template", "")
	n, err := x.Notify(tmpl, roles)
	if err != nil {
		return nil, action.BadParams("%v", err)
	}
	return map[string]any{"template": tmpl, "contacts": n}, nil
}
