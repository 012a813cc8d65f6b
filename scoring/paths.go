package scoring

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/timeline"
)

// pathReport is one access path as the final check reports it.
type pathReport = timeline.PathReport

// finalCheck is what the last verified event says.
type finalCheck struct {
	event *timeline.Event
	// paths is nil when the check reported none (a check recorded before
	// access paths existed: its counts stand in for them).
	paths []pathReport
	// counts are the check's tallies; bad lists the unreadable ones.
	flows, stolen, planted, launched int
	bad                              []string
}

// readFinalCheck reads the last verified event; nil without one.
func readFinalCheck(f *facts) *finalCheck {
	v := f.lastVerify
	if v == nil {
		return nil
	}
	fc := &finalCheck{event: v}
	fc.flows, fc.bad = detailInt(v, "surviving_flows", true, fc.bad)
	fc.stolen, fc.bad = detailInt(v, "valid_stolen_credentials", true, fc.bad)
	fc.planted, fc.bad = detailInt(v, "valid_persistence_keys", false, fc.bad)
	fc.launched, fc.bad = detailInt(v, "attacker_instances_running", false, fc.bad)
	if raw, ok := v.Detail["paths"]; ok {
		fc.paths = []pathReport{}
		if err := json.Unmarshal([]byte(raw), &fc.paths); err != nil {
			fc.paths = nil
			fc.bad = append(fc.bad, fmt.Sprintf("the containment check's paths are not a JSON list of paths: %v", err))
		}
	}
	return fc
}

// pathResults are the attacker's ways in: the final check's list (in the
// order the attacker gained them) with each path's probe history from the
// attack.path events; paths only probed (no final check) follow in the
// order of their first probe. A check recorded before access paths existed
// stands in with one path per kind its counts say is open.
func pathResults(f *facts, fc *finalCheck) []PathResult {
	byID := map[string]*PathResult{}
	var order []string
	get := func(id string) *PathResult {
		if p := byID[id]; p != nil {
			return p
		}
		p := &PathResult{ID: id}
		byID[id] = p
		order = append(order, id)
		return p
	}
	if fc != nil {
		for _, r := range fc.paths {
			p := get(r.ID)
			p.Kind, p.Cloud, p.Credential, p.Resource, p.Description = r.Kind, r.Cloud, r.Credential, r.Resource, r.Description
			p.Status, p.ErrorCode = r.Status, r.ErrorCode
		}
	}
	for i := range f.events {
		e := &f.events[i]
		if e.Kind != timeline.PathProbe {
			continue
		}
		p := get(e.Name)
		if p.Kind == "" {
			p.Kind, p.Cloud, p.Credential, p.Resource, p.Description = e.Detail["kind"], e.Cloud, e.Detail["credential"], e.Resource, e.Message
		}
		p.Probes++
		switch {
		case e.Outcome == timeline.Failed:
			// Inconclusive (throttled, a server error): says nothing.
			continue
		case e.Outcome == timeline.Succeeded:
			p.LastSuccessAt, p.CutAt = at(e), nil
		case p.CutAt == nil:
			p.CutAt = at(e)
		}
		if fc == nil || fc.paths == nil {
			p.Status, p.ErrorCode = PathCut, e.Detail["error_code"]
			if e.Outcome == timeline.Succeeded {
				p.Status, p.ErrorCode = PathOpen, ""
			}
		}
	}
	out := make([]PathResult, 0, len(order))
	for _, id := range order {
		p := *byID[id]
		if p.Status == PathOpen {
			p.CutAt = nil
		}
		out = append(out, p)
	}
	if fc != nil && fc.paths == nil {
		out = append(out, countedPaths(fc)...)
	}
	return out
}

// countedPaths stands in for the paths of a check that reported only
// counts: one open path per kind it counted.
func countedPaths(fc *finalCheck) []PathResult {
	var out []PathResult
	for _, c := range []struct {
		kind string
		n    int
	}{{"network_flow", fc.flows}, {"stolen_credential", fc.stolen}, {"planted_credential", fc.planted},
		{"launched_compute", fc.launched}} {
		if c.n > 0 {
			out = append(out, PathResult{ID: c.kind, Kind: c.kind, Cloud: fc.event.Cloud, Status: PathOpen,
				Description: fmt.Sprintf("%d counted open by the final check", c.n)})
		}
	}
	return out
}

// openKinds are the kinds of the paths still open, sorted, with their ids.
func openKinds(paths []PathResult) (kinds []string, ids map[string][]string) {
	ids = map[string][]string{}
	for _, p := range paths {
		if p.Status != PathCut {
			if ids[p.Kind] == nil {
				kinds = append(kinds, p.Kind)
			}
			ids[p.Kind] = append(ids[p.Kind], p.ID)
		}
	}
	sort.Strings(kinds)
	return kinds, ids
}

// effectiveAt is when containment took effect, as the attacker saw it:
// the later of the first probe of each path's final run of cut answers
// and the attacker's last counted success (it had access then, whatever
// the probes said). Without a probed path it is the declaration, moved
// past any later success. Nil while a path is open.
func effectiveAt(f *facts, paths []PathResult) *time.Time {
	var t *time.Time
	later := func(c *time.Time) {
		if c != nil && (t == nil || c.After(*t)) {
			t = c
		}
	}
	probed := false
	for _, p := range paths {
		if p.Status != PathCut {
			return nil
		}
		if p.CutAt != nil {
			probed = true
			later(p.CutAt)
		}
	}
	if !probed {
		later(at(f.contained))
	}
	if t == nil {
		return nil
	}
	for i := len(f.events) - 1; i >= 0; i-- {
		e := &f.events[i]
		if e.Kind == timeline.AttackAction && e.Outcome == timeline.Succeeded && !unblockable(e) {
			later(at(e))
			break
		}
	}
	return t
}

// describeOpen says which ways in were still open.
func describeOpen(kind string, ids []string) string {
	return fmt.Sprintf("%d %s path(s) still open at the final check: %s", len(ids),
		strings.ReplaceAll(kind, "_", " "), strings.Join(ids, ", "))
}
