package world

import "time"

// RecordAuditLocked appends an API call to the audit log and lets detectors
// see it.
func (w *World) RecordAuditLocked(ev *AuditEvent) {
	w.Audit = append(w.Audit, ev)
	w.emitLocked(Event{Time: ev.Time, Kind: "api.call", Audit: ev})
}

// DeliveredAuditLocked returns the audit events of one cloud and account that
// have been delivered by now (log delivery lags the call), oldest first.
func (w *World) DeliveredAuditLocked(cloud, account string, now time.Time) []*AuditEvent {
	var out []*AuditEvent
	for _, ev := range w.Audit {
		if ev.Cloud == cloud && (account == "" || ev.Account == account) && !ev.DeliverAt.After(now) {
			out = append(out, ev)
		}
	}
	return out
}

// AddFindingLocked records a detector finding; CreatedAt is when it becomes
// visible. A finding of the same type on the same resource updates the
// existing one (count, last seen) as GuardDuty does.
func (w *World) AddFindingLocked(f *Finding) *Finding {
	for _, old := range w.Findings {
		if old.Detector == f.Detector && old.Type == f.Type && old.ResourceID == f.ResourceID && !old.Archived {
			old.Count++
			if f.LastSeen.After(old.LastSeen) {
				old.LastSeen = f.LastSeen
			}
			if f.CreatedAt.After(old.UpdatedAt) {
				old.UpdatedAt = f.CreatedAt
			}
			return old
		}
	}
	if f.ID == "" {
		f.ID = w.NewIDLocked("f")[2:]
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	w.Findings = append(w.Findings, f)
	return f
}

// VisibleFindingsLocked returns the findings of a detector visible at now.
func (w *World) VisibleFindingsLocked(detector string, now time.Time) []*Finding {
	var out []*Finding
	for _, f := range w.Findings {
		if f.Detector == detector && !f.CreatedAt.After(now) {
			out = append(out, f)
		}
	}
	return out
}
