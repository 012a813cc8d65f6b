package awsworld

import "maps"

// IAM is eventually consistent (see the kernel's Lags): a change made
// through the wire is read back at once but authorizes only once it has
// propagated (Knobs.IAMPropagation).

// propagationAWSIAM is the stream IAM's propagation delays draw from.
const propagationAWSIAM = "propagation/aws-iam"

// iamGrants is a snapshot of an IAM user's or role's identity policies.
type iamGrants struct {
	inline  map[string]string
	managed []string
}

func (s *State) grants(kind, name string) iamGrants {
	inline, _ := s.inline(kind, name)
	managed, _ := s.managed(kind, name)
	g := iamGrants{inline: maps.Clone(inline)}
	if managed != nil {
		g.managed = append([]string(nil), (*managed)...)
	}
	return g
}

// IAMChange applies change, a change made through the wire to the
// identity policies of an IAM user or role (kind "user" or "role": put,
// delete, attach, detach), so that authorization sees it only once it has
// propagated (Knobs.IAMPropagation). The world's own mutators, called
// directly by seeding and harnesses, act at once: they set up a world
// whose changes have long converged.
func (s *State) IAMChange(kind, name string, change func() error) error {
	return s.iamLags.ChangeLocked(s.w, kind+"/"+name, func() iamGrants { return s.grants(kind, name) },
		change, nil, s.w.KnobsLocked().IAMPropagation)
}

// AccessKeyChange applies change, a change made through the wire to
// an access key (deactivation, re-activation, deletion), so that
// authentication sees it only once it has propagated: until then a
// deactivated or deleted key goes on working. A new key works at once (a
// modelling choice: AWS documents no delay for it, and IR never races it).
func (s *State) AccessKeyChange(akid string, change func() error) error {
	state := func() *AccessKey {
		if k, ok := s.AccessKeys.Get(akid); ok {
			cp := *k
			return &cp
		}
		return nil
	}
	unchanged := func(before, after *AccessKey) bool {
		return before == nil || (after != nil && after.Status == before.Status)
	}
	return s.keyLags.ChangeLocked(s.w, akid, state, change, unchanged, s.w.KnobsLocked().IAMPropagation)
}

// forgetIAM drops what authorization remembers of a deleted user or
// role, so that an entity created later under the same name starts clean.
func (s *State) forgetIAM(kind, name string) {
	s.iamLags.Forget(kind + "/" + name)
}

// authorizingGrants returns the policies authorization applies to a
// user or role: the live ones unless a change to them is propagating.
func (s *State) authorizingGrants(kind, name string, inline map[string]string, managed []string) (map[string]string, []string) {
	if g, ok := s.iamLags.Seen(kind + "/" + name); ok {
		return g.inline, g.managed
	}
	return inline, managed
}

// authorizingKey returns the access key authentication sees for akid:
// the live key unless a change to it (deactivation, deletion) is still
// propagating.
func (s *State) authorizingKey(akid string) (*AccessKey, bool) {
	if k, ok := s.keyLags.Seen(akid); ok {
		return k, k != nil
	}
	k, ok := s.AccessKeys.Get(akid)
	return k, ok
}
