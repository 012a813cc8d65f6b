package simcloud

import (
	"fmt"
	"time"
)

// Resource is one typed resource a scenario seeds in a cloud. Which of the
// optional fields apply depends on the kind (Kind.Fields): a VM group has a
// size and a scale-in schedule, a role extra policies, a service account
// extra project roles, a bucket versioning.
type Resource struct {
	Cloud, Kind, Name string
	// Size is a VM group's number of VMs (yaml "size").
	Size int
	// ScaleIn schedules the platform to shrink a VM group (yaml
	// "scale_in"), nil for none.
	ScaleIn *ScaleIn
	// Policies are inline Allow policies added to a role (yaml "policies").
	Policies []Policy
	// Roles are project roles granted to a service account (yaml "roles").
	Roles []string
	// Versioned turns on a bucket's versioning (yaml "versioned").
	Versioned bool
	// HealthCheckType is how a VM group decides a member is unhealthy and
	// replaces it (yaml "health_check_type"), in the cloud's own words
	// (an EC2 Auto Scaling group's EC2 or ELB); "" keeps the preset's.
	HealthCheckType string
}

// ScaleIn is a scheduled change of a VM group's desired capacity.
type ScaleIn struct {
	After   time.Duration // from the start of the drill
	Desired int
}

// Policy is an inline Allow policy.
type Policy struct {
	Name     string
	Actions  []string
	Resource string
}

// Resource kind names shared by the clouds that have them.
const (
	KindVMGroup        = "vm_group"
	KindRole           = "role"
	KindServiceAccount = "service_account"
	KindBucket         = "bucket"
)

// SetFields lists the optional fields a resource sets, by YAML name, in
// declaration order.
func (r *Resource) SetFields() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"size", r.Size != 0}, {"scale_in", r.ScaleIn != nil}, {"policies", len(r.Policies) > 0},
		{"roles", len(r.Roles) > 0}, {"versioned", r.Versioned}, {"health_check_type", r.HealthCheckType != ""}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// Merge copies the optional fields over sets onto r: a scenario's own
// resource entry changes the preset's resource of the same kind and name.
func (r *Resource) Merge(over *Resource) {
	if over.Size != 0 {
		r.Size = over.Size
	}
	if over.ScaleIn != nil {
		r.ScaleIn = over.ScaleIn
	}
	if len(over.Policies) > 0 {
		r.Policies = over.Policies
	}
	if len(over.Roles) > 0 {
		r.Roles = over.Roles
	}
	if over.Versioned {
		r.Versioned = true
	}
	if over.HealthCheckType != "" {
		r.HealthCheckType = over.HealthCheckType
	}
}

// Key names a resource in messages: "aws vm_group web-asg".
func (r *Resource) Key() string { return fmt.Sprintf("%s %s %s", r.Cloud, r.Kind, r.Name) }

// CheckVMGroup validates a VM group's size and scale-in schedule: the
// checks every cloud's vm_group kind shares.
func CheckVMGroup(r *Resource) (string, error) {
	if r.Size < 1 || r.Size > 20 {
		return "size", fmt.Errorf("%d is out of range 1..20", r.Size)
	}
	if s := r.ScaleIn; s != nil && (s.Desired < 0 || s.Desired >= r.Size) {
		return "scale_in.desired", fmt.Errorf("%d must be between 0 and size-1 (%d)", s.Desired, r.Size-1)
	}
	return "", nil
}
