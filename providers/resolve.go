package providers

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Resolver maps a finding about one kind of resource to the resources of
// another kind a case can act on: GuardDuty's InstanceCredentialExfiltration
// names an access key, and the VM playbook acts on the instance the key's
// role session was issued to. Resolvers hold cloud knowledge, so each
// provider package registers its own.
type Resolver struct {
	Cloud string
	From  Kind // the kind of resource the finding names
	To    Kind // the kind the resolver finds
	// Types limits the resolver to some finding types; empty means all.
	Types []string
	// Resolve returns the resources; none (and no error) when it cannot
	// tell.
	Resolve func(ctx context.Context, p Provider, f Finding) ([]ResourceRef, error)
}

var (
	resolversMu sync.RWMutex
	resolvers   []Resolver
)

// RegisterResolver adds a resolver (from a provider package's init).
func RegisterResolver(r Resolver) {
	resolversMu.Lock()
	defer resolversMu.Unlock()
	resolvers = append(resolvers, r)
}

// Resolve returns the resources of kind want that finding f is about: its
// own resource when it is of that kind, else what the resolvers registered
// for its cloud map it to. An unresolvable finding gives none.
func Resolve(ctx context.Context, p Provider, f Finding, want Kind) ([]ResourceRef, error) {
	if f.Resource.Kind == want && !f.Resource.IsZero() {
		return []ResourceRef{f.Resource}, nil
	}
	resolversMu.RLock()
	var cands []Resolver
	for _, r := range resolvers {
		if r.Cloud == p.Cloud() && r.From == f.Resource.Kind && r.To == want && (len(r.Types) == 0 || slices.Contains(r.Types, f.Type)) {
			cands = append(cands, r)
		}
	}
	resolversMu.RUnlock()
	var out []ResourceRef
	for _, r := range cands {
		got, err := r.Resolve(ctx, p, f)
		if err != nil {
			return out, fmt.Errorf("resolving finding %s (%s %s) to a %s: %w", f.ID, f.Resource.Kind, f.Resource.ID, want, err)
		}
		for _, g := range got {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out, nil
}
