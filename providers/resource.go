package providers

import (
	"fmt"
	"strings"
)

// Kind is the type of a resource a case can be about.
type Kind string

// Resource kinds.
const (
	KindVM          Kind = "vm"
	KindDisk        Kind = "disk"
	KindBucket      Kind = "bucket"
	KindObject      Kind = "object"
	KindPrincipal   Kind = "principal" // user, role, service account, managed identity
	KindAccessKey   Kind = "access_key"
	KindDatabase    Kind = "database"
	KindCache       Kind = "cache"
	KindFunction    Kind = "function"
	KindCluster     Kind = "cluster"
	KindPod         Kind = "pod"
	KindPipeline    Kind = "pipeline"
	KindNetworkRule Kind = "network_rule"
)

// Kinds lists every resource kind, for validation and documentation.
var Kinds = []Kind{KindVM, KindDisk, KindBucket, KindObject, KindPrincipal, KindAccessKey, KindDatabase, KindCache,
	KindFunction, KindCluster, KindPod, KindPipeline, KindNetworkRule}

// KnownKind reports whether k is a resource kind.
func KnownKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// ResourceRef names one resource: its cloud, its kind and the cloud's own
// id for it (an EC2 instance id, an ARM resource id, a GCP resource path, a
// bucket name, an access key id, a principal's ARN or email).
type ResourceRef struct {
	Cloud string `json:"cloud"`
	Kind  Kind   `json:"kind"`
	ID    string `json:"id"`
}

// Ref builds a ResourceRef.
func Ref(cloud string, kind Kind, id string) ResourceRef {
	return ResourceRef{Cloud: cloud, Kind: kind, ID: id}
}

// IsZero reports whether r names nothing.
func (r ResourceRef) IsZero() bool { return r.ID == "" }

// String renders "cloud:kind:id".
func (r ResourceRef) String() string {
	return fmt.Sprintf("%s:%s:%s", r.Cloud, r.Kind, r.ID)
}

// ParseRef parses "cloud:kind:id" (the id may itself contain colons, as
// ARNs do).
func ParseRef(s string) (ResourceRef, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return ResourceRef{}, fmt.Errorf("%q is not a resource reference cloud:kind:id", s)
	}
	r := ResourceRef{Cloud: parts[0], Kind: Kind(parts[1]), ID: parts[2]}
	if !KnownKind(r.Kind) {
		return ResourceRef{}, fmt.Errorf("%q: unknown resource kind %q", s, r.Kind)
	}
	return r, nil
}
