package action

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/firedrill-ir/firedrill/providers"
)

// Capability is a provider domain interface an action needs, named after
// the interface in snake case (providers.SessionRevoker is
// "session_revoker"): the name decision predicates read in
// facts.capabilities and skip reasons quote.
type Capability struct {
	Name string
	has  func(providers.Provider) bool
}

// Has reports whether p implements the capability.
func (c Capability) Has(p providers.Provider) bool { return p != nil && c.has(p) }

// Need is the capability of implementing T, a providers interface.
func Need[T any]() Capability {
	t := reflect.TypeFor[T]()
	return Capability{Name: snake(t.Name()), has: func(p providers.Provider) bool { _, ok := p.(T); return ok }}
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

var (
	capsMu sync.RWMutex
	caps   = map[string]Capability{}
)

func registerCapability(c Capability) {
	capsMu.Lock()
	defer capsMu.Unlock()
	caps[c.Name] = c
}

// Capabilities lists what p can do among every capability a registered
// action needs, by name: what facts.capabilities shows the decision tree.
func Capabilities(p providers.Provider) map[string]bool {
	capsMu.RLock()
	defer capsMu.RUnlock()
	out := make(map[string]bool, len(caps))
	for name, c := range caps {
		out[name] = c.Has(p)
	}
	return out
}

// CapabilityNames lists every capability a registered action needs.
func CapabilityNames() []string {
	capsMu.RLock()
	defer capsMu.RUnlock()
	out := make([]string, 0, len(caps))
	for n := range caps {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// CapabilityError says an action cannot run because the cloud's provider
// lacks a capability. It is a providers.ErrUnsupported, so the engine skips
// the step (or runs the playbook's fallback) instead of failing the case.
type CapabilityError struct {
	Cloud, Capability string
}

func (e *CapabilityError) Error() string {
	return fmt.Sprintf("%s has no %s capability: %v", e.Cloud, e.Capability, providers.ErrUnsupported)
}

// Unwrap makes it an ErrUnsupported.
func (e *CapabilityError) Unwrap() error { return providers.ErrUnsupported }

// Missing returns the first capability of spec that p lacks, or nil.
func Missing(spec Spec, p providers.Provider) *CapabilityError {
	for _, c := range spec.Needs {
		if !c.Has(p) {
			cloud := ""
			if p != nil {
				cloud = p.Cloud()
			}
			return &CapabilityError{Cloud: cloud, Capability: c.Name}
		}
	}
	return nil
}

// Get returns the provider of x as T, or a CapabilityError naming T.
func Get[T any](x *Run) (T, error) {
	if v, ok := x.Provider().(T); ok {
		return v, nil
	}
	var zero T
	return zero, &CapabilityError{Cloud: x.Cloud(), Capability: Need[T]().Name}
}

// Has reports whether the provider of x implements T.
func Has[T any](x *Run) bool {
	_, ok := x.Provider().(T)
	return ok
}
