package scoring

import (
	"fmt"
	"sort"

	"github.com/firedrill-ir/firedrill/timeline"
)

// collateral counts the legitimate work the response broke: rounds of a
// background principal denied after the responder's first step, by a
// principal whose work had succeeded before (a principal that never
// worked was not broken by the response).
func collateral(f *facts) Collateral {
	c := Collateral{Principals: []string{}, Notes: []string{}}
	var began *timeline.Event
	for i := range f.events {
		if e := &f.events[i]; e.Actor == timeline.ActorResponder && e.Kind == timeline.StepStart {
			began = e
			break
		}
	}
	worked := map[string]bool{}
	denied := map[string]int{}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.BackgroundAction {
			continue
		}
		who := e.Detail["principal"]
		switch {
		case e.Outcome == timeline.Succeeded:
			worked[who] = true
		case e.Outcome == timeline.Denied && worked[who] && began != nil && f.before(began, e):
			c.DeniedLegitimateActions++
			denied[who]++
		}
	}
	for who := range denied {
		c.Principals = append(c.Principals, who)
	}
	sort.Strings(c.Principals)
	for _, who := range c.Principals {
		c.Notes = append(c.Notes, fmt.Sprintf("%s was denied %d time(s) after the response began, having worked before", who, denied[who]))
	}
	return c
}

// combineCollateral adds the clouds' collateral.
func combineCollateral(clouds []CloudResult) Collateral {
	c := Collateral{Principals: []string{}, Notes: []string{}}
	for _, cr := range clouds {
		c.DeniedLegitimateActions += cr.Collateral.DeniedLegitimateActions
		for _, p := range cr.Collateral.Principals {
			c.Principals = addOnce(c.Principals, p)
		}
		for _, n := range cr.Collateral.Notes {
			c.Notes = append(c.Notes, cr.Cloud+": "+n)
		}
	}
	sort.Strings(c.Principals)
	return c
}
