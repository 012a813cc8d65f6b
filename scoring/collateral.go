package scoring

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// collateral counts the legitimate work the response broke: rounds of a
// background principal denied after the responder's first step, by a
// principal whose work had succeeded before (a principal that never
// worked was not broken by the response), grouped by the activity they
// belong to, with when each activity first broke and when it worked again.
func collateral(f *facts) Collateral {
	c := Collateral{Principals: []string{}, Activities: []CollateralActivity{}, Notes: []string{}}
	var began *timeline.Event
	for i := range f.events {
		if e := &f.events[i]; e.Actor == timeline.ActorResponder && e.Kind == timeline.StepStart {
			began = e
			break
		}
	}
	type principal struct {
		denied int
		// restored is the first success after the principal's last
		// counted denial (nil while none came); last is when it last acted.
		restored *time.Time
		last     time.Time
	}
	worked := map[string]bool{}
	broken := map[string]*principal{}
	activities := map[string]*CollateralActivity{}
	// lastOf is when each activity last acted, by key (a round's events
	// share their time); workedAgain its first success after its last
	// counted denial.
	lastOf := map[string]time.Time{}
	workedAgain := map[string]*time.Time{}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.BackgroundAction {
			continue
		}
		who := e.Detail["principal"]
		lastOf[activityKey(e)] = e.At
		if p := broken[who]; p != nil {
			p.last = e.At
		}
		switch {
		case e.Outcome == timeline.Succeeded:
			worked[who] = true
			at := e.At.UTC()
			if p := broken[who]; p != nil && p.restored == nil {
				p.restored = &at
			}
			if key := activityKey(e); activities[key] != nil && workedAgain[key] == nil {
				workedAgain[key] = &at
			}
		case e.Outcome == timeline.Denied && worked[who] && began != nil && f.before(began, e):
			c.DeniedLegitimateActions++
			a := activities[activityKey(e)]
			if a == nil {
				a = &CollateralActivity{Activity: e.Name, Principal: activityPrincipal(e), Cloud: e.Cloud,
					Principals: []string{}, FirstDeniedAt: e.At.UTC()}
				activities[activityKey(e)] = a
			}
			a.Denied++
			a.LastDeniedAt = e.At.UTC()
			workedAgain[activityKey(e)] = nil
			p := broken[who]
			if p == nil {
				p = &principal{last: e.At}
				broken[who] = p
				a.Principals = append(a.Principals, who)
			}
			p.denied++
			p.restored = nil
		}
	}
	for _, key := range slices.Sorted(maps.Keys(activities)) {
		a := activities[key]
		sort.Strings(a.Principals)
		restored := true
		for _, who := range a.Principals {
			p := broken[who]
			switch {
			case p.restored == nil && p.last.Before(lastOf[key]):
				// It stopped acting while the activity went on (a VM
				// that left its group): nothing to wait for.
			case p.restored == nil:
				restored = false
			case a.RestoredAt == nil || p.restored.After(*a.RestoredAt):
				a.RestoredAt = p.restored
			}
		}
		switch {
		case !restored:
			a.RestoredAt = nil
		case a.RestoredAt == nil:
			// Every principal it broke left (VMs gone from their group):
			// it works again when the others next worked.
			a.RestoredAt = workedAgain[key]
		}
		c.Activities = append(c.Activities, *a)
	}
	for who := range broken {
		c.Principals = append(c.Principals, who)
	}
	sort.Strings(c.Principals)
	for _, who := range c.Principals {
		c.Notes = append(c.Notes, fmt.Sprintf("%s was denied %d time(s) after the response began, having worked before", who, broken[who].denied))
	}
	return c
}

// activityKey names the background activity an event belongs to: its
// cloud, technique and own principal.
func activityKey(e *timeline.Event) string {
	return e.Cloud + "\x00" + e.Name + "\x00" + activityPrincipal(e)
}

// activityPrincipal is the principal an activity runs as: Detail
// activity when a member acted for it, else the one that acted.
func activityPrincipal(e *timeline.Event) string {
	if a := e.Detail["activity"]; a != "" {
		return a
	}
	return e.Detail["principal"]
}

// combineCollateral adds the clouds' collateral.
func combineCollateral(clouds []CloudResult) Collateral {
	c := Collateral{Principals: []string{}, Activities: []CollateralActivity{}, Notes: []string{}}
	for _, cr := range clouds {
		c.DeniedLegitimateActions += cr.Collateral.DeniedLegitimateActions
		for _, p := range cr.Collateral.Principals {
			c.Principals = addOnce(c.Principals, p)
		}
		c.Activities = append(c.Activities, cr.Collateral.Activities...)
		for _, n := range cr.Collateral.Notes {
			c.Notes = append(c.Notes, cr.Cloud+": "+n)
		}
	}
	sort.Strings(c.Principals)
	sort.SliceStable(c.Activities, func(i, j int) bool {
		a, b := c.Activities[i], c.Activities[j]
		if a.Cloud != b.Cloud {
			return a.Cloud < b.Cloud
		}
		if a.Activity != b.Activity {
			return a.Activity < b.Activity
		}
		return a.Principal < b.Principal
	})
	return c
}
