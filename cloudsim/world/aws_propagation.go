package world

import (
	"maps"
)

// Propagation streams and the knobs they draw for.
const (
	propagationAWSIAM = "propagation/aws-iam"
)

// propagationState holds the lags of AWS, by entity key.
type propagationState struct {
	iam  *Lags[iamGrants]  // "user/<name>", "role/<name>"
	keys *Lags[*AccessKey] // access key id; nil: deleted
}

func (w *World) propLocked() *propagationState {
	if w.prop == nil {
		w.prop = &propagationState{iam: NewLags[iamGrants](propagationAWSIAM), keys: NewLags[*AccessKey](propagationAWSIAM)}
	}
	return w.prop
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
	return w.propLocked().iam.ChangeLocked(w, kind+"/"+name, func() iamGrants { return w.grantsLocked(kind, name) },
		change, nil, w.knobs.IAMPropagation)
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
	return w.propLocked().keys.ChangeLocked(w, akid, state, change, unchanged, w.knobs.IAMPropagation)
}

// forgetIAMLocked drops what authorization remembers of a deleted user or
// role, so that an entity created later under the same name starts clean.
func (w *World) forgetIAMLocked(kind, name string) {
	if w.prop != nil {
		w.prop.iam.Forget(kind + "/" + name)
	}
}

// authorizingGrantsLocked returns the policies authorization applies to a
// user or role: the live ones unless a change to them is propagating.
func (w *World) authorizingGrantsLocked(kind, name string, inline map[string]string, managed []string) (map[string]string, []string) {
	if w.prop != nil {
		if g, ok := w.prop.iam.Seen(kind + "/" + name); ok {
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
		if k, ok := w.prop.keys.Seen(akid); ok {
			return k, k != nil
		}
	}
	k, ok := w.AccessKeys[akid]
	return k, ok
}
