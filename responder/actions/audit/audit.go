// Package audit holds the responder's investigation queries over the
// cloud's audit log.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/providers"
	"github.com/firedrill-ir/firedrill/responder/action"
)

func init() {
	action.Register(action.Spec{Name: "query_audit", Domain: "audit",
		Doc:    "query the audit log, summarise into facts and store the extract as evidence",
		Params: []string{"role", "access_key", "resource", "principal", "operations", "lookback", "exclude_self", "max", "bucket"},
		Needs:  []action.Capability{action.Need[providers.AuditReader]()}, Run: queryAudit})
}

// record is the extract of an audit event stored as evidence.
type record struct {
	ID        string   `json:"id"`
	Time      string   `json:"time"`
	Operation string   `json:"operation"`
	Service   string   `json:"service"`
	Principal string   `json:"principal"`
	AccessKey string   `json:"access_key_id,omitempty"`
	SourceIP  string   `json:"source_ip,omitempty"`
	ErrorCode string   `json:"error_code,omitempty"`
	Resources []string `json:"resources,omitempty"`
}

func queryAudit(ctx context.Context, x *action.Run) (map[string]any, error) {
	au, err := action.Get[providers.AuditReader](x)
	if err != nil {
		return nil, err
	}
	lookback, err := x.Params.Duration("lookback", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	maxN, err := x.Params.Int("max", 1000)
	if err != nil {
		return nil, err
	}
	ops, err := x.Params.Strings("operations")
	if err != nil {
		return nil, err
	}
	excludeSelf, err := x.Params.Bool("exclude_self", true)
	if err != nil {
		return nil, err
	}
	if _, err := x.EvidenceBucket(); err != nil {
		return nil, err
	}
	now := x.Now()
	q := providers.AuditQuery{Start: now.Add(-lookback), End: now, AccessKeyID: x.Params.String("access_key", ""),
		Resource: x.Params.String("resource", ""), Principal: x.Params.String("principal", ""), Role: x.Params.String("role", "")}
	if len(ops) == 1 && q.AccessKeyID == "" && q.Resource == "" && q.Principal == "" {
		q.Operation = ops[0]
	}
	events, err := au.QueryAudit(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("querying the audit log: %w", err)
	}
	self := ""
	if excludeSelf {
		if ci, ok := x.Provider().(providers.CallerIdentifier); ok {
			if id, err := ci.CallerIdentity(ctx); err == nil {
				self = id.ARN
			}
		}
	}
	var kept []providers.AuditEvent
	for _, e := range events {
		if self != "" && e.Principal == self {
			continue
		}
		if len(ops) > 0 && !slices.Contains(ops, e.Operation) {
			continue
		}
		kept = append(kept, e)
		if len(kept) >= maxN {
			break
		}
	}
	summary, recs := summarize(kept)
	body, err := json.MarshalIndent(map[string]any{"query": map[string]any{"start": q.Start.UTC().Format(time.RFC3339),
		"end": q.End.UTC().Format(time.RFC3339), "role": q.Role, "access_key": q.AccessKeyID, "resource": q.Resource,
		"principal": q.Principal, "operations": ops}, "events": recs}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the audit extract: %w", err)
	}
	ev, err := x.StoreArtifact(ctx, "audit-"+x.StepID+".json", body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(action.Evidence{Kind: action.KindAuditLog, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: "audit log", State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	return summary, nil
}

// summarize turns the kept events into the step's facts and the stored
// extract.
func summarize(kept []providers.AuditEvent) (map[string]any, []record) {
	opsCount := map[string]any{}
	principals, ips, sessions, created := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	denied := 0
	recs := make([]record, 0, len(kept))
	for _, e := range kept {
		n, _ := opsCount[e.Operation].(int)
		opsCount[e.Operation] = n + 1
		principals[e.Principal] = true
		if e.SourceIP != "" {
			ips[e.SourceIP] = true
		}
		if e.Session != "" {
			sessions[e.Session] = true
		}
		if e.ErrorCode != "" {
			denied++
		} else if strings.HasPrefix(e.Operation, "Create") || e.Operation == "RunInstances" {
			created[e.Operation] = true
		}
		recs = append(recs, record{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339), Operation: e.Operation,
			Service: e.Service, Principal: e.Principal, AccessKey: e.AccessKeyID, SourceIP: e.SourceIP,
			ErrorCode: e.ErrorCode, Resources: e.Resources})
	}
	return map[string]any{"events": len(kept), "operations": opsCount, "principals": sortedAny(principals),
		"source_ips": sortedAny(ips), "sessions": sortedAny(sessions), "created": sortedAny(created), "errors": denied}, recs
}

func sortedAny(set map[string]bool) []any {
	out := []any{}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, k)
	}
	return out
}
