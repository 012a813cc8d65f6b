package scoring

import (
	"fmt"
	"math"
)

// eradication reads what the attacker planted from the final check: each
// path with an artifact (a key, a rule, launched compute) is an item,
// removed when the cloud no longer has it.
func eradication(fc *finalCheck, inScope bool) Eradication {
	e := Eradication{InScope: inScope, Items: []EradicationItem{}, Reasons: []string{}, ReasonCodes: []string{}}
	if fc == nil || fc.paths == nil {
		e.fail(CodeEradicationNotChecked, "the final check reported no planted artifacts' state")
		return e
	}
	e.Checked = true
	for _, r := range fc.paths {
		if r.ArtifactKind == "" {
			continue
		}
		it := EradicationItem{Path: r.ID, Kind: r.ArtifactKind, Cloud: r.Cloud, Resource: r.Artifact, Status: ItemUnknown,
			CostUSD: round2(r.CostUSD)}
		switch {
		case r.Present == nil:
			e.fail(CodeArtifactUnknown+":"+it.Kind, fmt.Sprintf("%s %s: the final check cannot tell whether it is gone (not implemented)", it.Kind, it.Resource))
		case *r.Present:
			it.Status = ItemPresent
			e.fail(CodeArtifactPresent+":"+it.Kind, fmt.Sprintf("%s %s planted by the attacker is still there", it.Kind, it.Resource))
		default:
			it.Status = ItemRemoved
		}
		e.CostUSD += r.CostUSD
		e.Items = append(e.Items, it)
	}
	e.CostUSD = round2(e.CostUSD)
	e.Verified = len(e.Reasons) == 0
	return e
}

// combineEradication is the clouds' eradication together, reasons and
// codes prefixed with their cloud.
func combineEradication(clouds []CloudResult, inScope bool) Eradication {
	e := Eradication{InScope: inScope, Checked: true, Verified: true, Items: []EradicationItem{}, Reasons: []string{}, ReasonCodes: []string{}}
	for _, cr := range clouds {
		ce := cr.Eradication
		e.Checked = e.Checked && ce.Checked
		e.Verified = e.Verified && ce.Verified
		e.Items = append(e.Items, ce.Items...)
		e.CostUSD += ce.CostUSD
		for _, r := range ce.Reasons {
			e.Reasons = append(e.Reasons, cr.Cloud+": "+r)
		}
		for _, c := range ce.ReasonCodes {
			e.ReasonCodes = addOnce(e.ReasonCodes, cr.Cloud+":"+c)
		}
	}
	e.CostUSD = math.Round(e.CostUSD*100) / 100
	return e
}
