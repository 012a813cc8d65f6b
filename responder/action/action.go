// Package action is the one registry of the responder's actions and the
// API an action sees while it runs. Actions live in domain packages
// (responder/actions/vm, network, identity, audit, comms, resource, …),
// each registering into this registry from init; the engine (package
// responder) runs them and is the only implementation of Host.
//
// An action declares what it needs from the cloud as capabilities (Need),
// which are the providers' small domain interfaces: on a cloud whose
// provider lacks one, the step is not started and the playbook's per-cloud
// fallback says what to do instead. Adding a capability is one interface in
// package providers plus its implementations, and an action that needs it.
package action

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/firedrill-ir/firedrill/providers"
)

// Func performs one attempt of a step. It reads parameters and facts from
// x, acts only through x.Provider() (never on a simulator directly, so the
// same action works live), records artifacts with x.AddEvidence, and
// returns its output, which becomes facts.steps.<id>.
type Func func(ctx context.Context, x *Run) (map[string]any, error)

// Spec describes an action for the loader (parameters), the engine
// (capabilities) and the plan (whether it changes the cloud).
type Spec struct {
	Name string
	Doc  string
	// Domain is the package that registered it (vm, network, …), for
	// listings.
	Domain string
	// Mutates: the action changes the account's configuration or the
	// resource (evidence written to the evidence store does not count).
	// Remediation checks must not mutate; dry-run plans mark these.
	Mutates  bool
	Params   []string
	Required []string
	// Needs are the capabilities the action cannot run without; on a
	// cloud that lacks one the step is not started and the playbook's
	// fallback for that cloud applies.
	Needs []Capability
	// Kinds are the resource kinds the action acts on when it acts on the
	// case's resource; empty means it does not depend on the kind.
	Kinds []providers.Kind
	Run   Func
}

var (
	mu       sync.RWMutex
	registry = map[string]Spec{}
)

// Register adds an action; a name registered twice is a programming error.
func Register(s Spec) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("action: registered twice: " + s.Name)
	}
	if s.Run == nil {
		panic("action: " + s.Name + " has no Run")
	}
	s.Params = slices.Sorted(slices.Values(s.Params))
	registry[s.Name] = s
	for _, c := range s.Needs {
		registerCapability(c)
	}
}

// Lookup returns a registered action.
func Lookup(name string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := registry[name]
	return s, ok
}

// Names lists the registered actions, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// ErrBadParams marks parameter errors: they are not retried.
var ErrBadParams = errors.New("bad parameters")

// BadParams returns an ErrBadParams error.
func BadParams(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadParams, fmt.Sprintf(format, args...))
}
