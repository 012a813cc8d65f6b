package action

import (
	"context"
	"sync"

	"github.com/firedrill-ir/firedrill/providers"
)

// Describer records one kind of resource before anything touches it: the
// facts the decision tree reads (facts.resource.*, plus any alias such as
// facts.instance for VMs, which it sets itself) and the record kept as
// evidence.
type Describer struct {
	Kind providers.Kind
	// Needs is the capability describing takes.
	Needs Capability
	// Describe returns the resource's facts and its record as stored
	// evidence (JSON).
	Describe func(ctx context.Context, x *Run) (facts map[string]any, record []byte, err error)
	// EvidenceKind names the stored record in the manifest.
	EvidenceKind string
}

var (
	describersMu sync.RWMutex
	describers   = map[providers.Kind]Describer{}
)

// RegisterDescriber adds the describer of a kind.
func RegisterDescriber(d Describer) {
	describersMu.Lock()
	defer describersMu.Unlock()
	if _, dup := describers[d.Kind]; dup {
		panic("action: describer registered twice for " + string(d.Kind))
	}
	describers[d.Kind] = d
	registerCapability(d.Needs)
}

// DescriberFor returns the describer of a kind.
func DescriberFor(k providers.Kind) (Describer, bool) {
	describersMu.RLock()
	defer describersMu.RUnlock()
	d, ok := describers[k]
	return d, ok
}

// ResourceFacts is facts.resource: the case resource's cloud, kind and id
// with what its describer found.
func ResourceFacts(r providers.ResourceRef, described map[string]any) map[string]any {
	out := make(map[string]any, len(described)+3)
	for k, v := range described {
		out[k] = v
	}
	out["cloud"], out["kind"], out["id"] = r.Cloud, string(r.Kind), r.ID
	return out
}
