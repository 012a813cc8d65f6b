package world

import (
	"maps"
	"strings"
	"time"
)

// Propagation: the clouds' identity systems are eventually consistent. A
// change is visible to readers of the resource at once (GetRolePolicy
// returns the new document, ListAccessKeys the new status), but the
// endpoints that authorize other calls learn of it only after a delay
// drawn from a knob (knobs.go). Until then the old state authorizes, which
// is why "fix, then verify immediately" passes against a revoke that has
// not taken hold yet.
//
// The front ends apply a change made through the wire inside one of the
// *ChangeLocked wrappers below, which snapshot the entity before and after
// and record the lag. The world's mutators called directly (seeding, test
// harnesses) act at once: they describe a world whose changes have long
// converged.
//
// A lag records, per entity, the state authorization still sees and the
// changes on their way. Each change is applied to the seen state when its
// delay has passed, unless a later change arrived first: the newest change
// to arrive wins, as it would on a replica. When every change made has
// arrived the lag is dropped and authorization reads the live state again,
// so worlds without pending changes (and state seeded directly into the
// world's fields) behave exactly as before.

// lag is what authorization sees of one entity while changes propagate.
type lag[T any] struct {
	seen    T
	applied uint64 // the newest change applied to seen
	made    uint64 // the newest change made
}

// Propagation streams and the knobs they draw for.
const (
	propagationAWSIAM    = "propagation/aws-iam"
	propagationAzureRBAC = "propagation/azure-rbac"
	propagationGCPIAM    = "propagation/gcp-iam"
)

// propagationState holds the lags of each cloud, by entity key.
type propagationState struct {
	iam   map[string]*lag[iamGrants]            // "user/<name>", "role/<name>"
	keys  map[string]*lag[*AccessKey]           // access key id; nil: deleted
	azure map[string]*lag[*AzureRoleAssignment] // lower-cased assignment id; nil: deleted
	gcp   map[string]*lag[bool]                 // service-account email: disabled
}

func (w *World) propLocked() *propagationState {
	if w.prop == nil {
		w.prop = &propagationState{iam: map[string]*lag[iamGrants]{}, keys: map[string]*lag[*AccessKey]{},
			azure: map[string]*lag[*AzureRoleAssignment]{}, gcp: map[string]*lag[bool]{}}
	}
	return w.prop
}

// changeLocked applies change to the entity key, reading its state with
// state before and after, and records the change as propagating unless
// unchanged says there is nothing authorization would notice.
func changeLocked[T any](w *World, lags map[string]*lag[T], key string, state func() T, change func() error,
	unchanged func(before, after T) bool, stream string, l Latency) error {
	before := state()
	if err := change(); err != nil {
		return err
	}
	after := state()
	if unchanged != nil && unchanged(before, after) {
		return nil
	}
	propagateLocked(w, lags, key, before, after, stream, l)
	return nil
}

// propagateLocked records that the entity key changed from before to
// after, a change authorization sees once a delay drawn from l on the named
// stream has passed.
func propagateLocked[T any](w *World, lags map[string]*lag[T], key string, before, after T, stream string, l Latency) {
	d := l.Draw(w.StreamLocked(stream))
	cur := lags[key]
	if d <= 0 && cur == nil {
		return // immediate, nothing in flight: authorization reads the live state
	}
	if cur == nil {
		cur = &lag[T]{seen: before}
		lags[key] = cur
	}
	cur.made++
	v := cur.made
	apply := func(time.Time) {
		if lags[key] != cur || v <= cur.applied {
			return // superseded by a later change that arrived first
		}
		cur.seen, cur.applied = after, v
		if cur.applied == cur.made {
			delete(lags, key)
		}
	}
	if d <= 0 {
		apply(w.clock.Now())
		return
	}
	w.ScheduleLocked(w.clock.Now().Add(d), stream+":"+key, apply)
}

// seenLocked returns what authorization sees of key while a change
// propagates, and whether one does.
func seenLocked[T any](lags map[string]*lag[T], key string) (T, bool) {
	if l, ok := lags[key]; ok {
		return l.seen, true
	}
	var zero T
	return zero, false
}

// ---- AWS IAM -----------------------------------------------------------

// iamGrants is a snapshot of an IAM user's or role's identity policies.
type iamGrants struct {
	inline  map[string]string
	managed []string
}

func (w *World) grantsLocked(kind, name string) iamGrants {
	inline, _ := w.inlineLocked(kind, name)
	managed, _ := w.managedLocked(kind, name)
	g := iamGrants{inline: maps.Clone(inline)}
	if managed != nil {
		g.managed = append([]string(nil), (*managed)...)
	}
	return g
}

// IAMChangeLocked applies change, a change made through the wire to the
// identity policies of an IAM user or role (kind "user" or "role": put,
// delete, attach, detach), so that authorization sees it only once it has
// propagated (Knobs.IAMPropagation). The world's own mutators, called
// directly by seeding and harnesses, act at once: they set up a world
// whose changes have long converged.
func (w *World) IAMChangeLocked(kind, name string, change func() error) error {
	return changeLocked(w, w.propLocked().iam, kind+"/"+name, func() iamGrants { return w.grantsLocked(kind, name) },
		change, nil, propagationAWSIAM, w.knobs.IAMPropagation)
}

// AccessKeyChangeLocked applies change, a change made through the wire to
// an access key (deactivation, re-activation, deletion), so that
// authentication sees it only once it has propagated: until then a
// deactivated or deleted key goes on working. A new key works at once (a
// modelling choice: AWS documents no delay for it, and IR never races it).
func (w *World) AccessKeyChangeLocked(akid string, change func() error) error {
	state := func() *AccessKey {
		if k, ok := w.AccessKeys[akid]; ok {
			cp := *k
			return &cp
		}
		return nil
	}
	unchanged := func(before, after *AccessKey) bool {
		return before == nil || (after != nil && after.Status == before.Status)
	}
	return changeLocked(w, w.propLocked().keys, akid, state, change, unchanged, propagationAWSIAM, w.knobs.IAMPropagation)
}

// forgetIAMLocked drops what authorization remembers of a deleted user or
// role, so that an entity created later under the same name starts clean.
func (w *World) forgetIAMLocked(kind, name string) {
	if w.prop != nil {
		delete(w.prop.iam, kind+"/"+name)
	}
}

// authorizingGrantsLocked returns the policies authorization applies to a
// user or role: the live ones unless a change to them is propagating.
func (w *World) authorizingGrantsLocked(kind, name string, inline map[string]string, managed []string) (map[string]string, []string) {
	if w.prop != nil {
		if g, ok := seenLocked(w.prop.iam, kind+"/"+name); ok {
			return g.inline, g.managed
		}
	}
	return inline, managed
}

// authorizingKeyLocked returns the access key authentication sees for akid:
// the live key unless a change to it (deactivation, deletion) is still
// propagating.
func (w *World) authorizingKeyLocked(akid string) (*AccessKey, bool) {
	if w.prop != nil {
		if k, ok := seenLocked(w.prop.keys, akid); ok {
			return k, k != nil
		}
	}
	k, ok := w.AccessKeys[akid]
	return k, ok
}

// ---- Azure and GCP -------------------------------------------------------

// AzureRoleAssignmentChangeLocked applies change, a change made through the
// wire to the role assignment id, so that authorization goes on honouring a
// deleted assignment until the deletion has propagated
// (Knobs.AzureRBACPropagation): Azure Resource Manager caches role
// assignments. Only deletions lag (the simulator serves no creation).
func (w *World) AzureRoleAssignmentChangeLocked(id string, change func() error) error {
	id = strings.ToLower(id)
	state := func() *AzureRoleAssignment { return w.AzureLocked().RoleAssignments[id] }
	deleted := func(before, after *AzureRoleAssignment) bool { return before != nil && after == nil }
	return changeLocked(w, w.propLocked().azure, id, state, change,
		func(b, a *AzureRoleAssignment) bool { return !deleted(b, a) }, propagationAzureRBAC, w.knobs.AzureRBACPropagation)
}

// GCPServiceAccountChangeLocked applies change, a change made through the
// wire to whether the service account email is disabled, so that token
// checks and token issuance see it once it has propagated
// (Knobs.GCPDisablePropagation, immediate by default as documented).
func (w *World) GCPServiceAccountChangeLocked(email string, change func() error) error {
	state := func() bool {
		sa := w.GCPLocked().ServiceAccounts[email]
		return sa != nil && sa.Disabled
	}
	return changeLocked(w, w.propLocked().gcp, email, state, change,
		func(b, a bool) bool { return b == a }, propagationGCPIAM, w.knobs.GCPDisablePropagation)
}
