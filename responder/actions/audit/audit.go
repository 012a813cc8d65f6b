// Package audit holds the responder's investigation queries over the
// cloud's audit log.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
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

func init() {
	action.Register(action.Spec{Name: "find_planted", Domain: "audit",
		Doc: "find what the compromised identities created (keys, instances, firewall rules, principals) in the audit log, as facts.planted " +
			"for the eradication steps; settle waits for the log's delivery delay first",
		Params: []string{"principals", "kinds", "lookback", "settle", "bucket"},
		Needs:  []action.Capability{action.Need[providers.AuditReader]()}, Run: findPlanted})
}

// PlantedFacts is facts.planted: per kind, what the attacker created.
type PlantedFacts map[providers.Kind][]Planted

// Planted is one resource an attacker created, as the audit log shows it.
type Planted struct {
	ID        string `json:"id"`
	Region    string `json:"region,omitempty"`
	CreatedAt string `json:"created_at"`
	Operation string `json:"operation"`
	By        string `json:"by"`
	SourceIP  string `json:"source_ip,omitempty"`
}

// compromised are whose creations count: the principals parameter, else the
// identities the case revoked or detached, else the described identity.
func compromised(x *action.Run) ([]string, error) {
	if list, err := x.Params.Strings("principals"); err != nil || len(list) > 0 {
		return list, err
	}
	var out []string
	for _, key := range []string{"revoked_roles", "identity_roles"} {
		if v, ok := x.Fact(key); ok {
			for _, r := range v.([]any) {
				if s := fmt.Sprint(r); !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	if len(out) == 0 {
		if r := x.FactString("instance", "identity", "role_name"); r != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

func findPlanted(ctx context.Context, x *action.Run) (map[string]any, error) {
	au, err := action.Get[providers.AuditReader](x)
	if err != nil {
		return nil, err
	}
	lookback, err := x.Params.Duration("lookback", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	settle, err := x.Params.Duration("settle", 0)
	if err != nil {
		return nil, err
	}
	kindNames, err := x.Params.Strings("kinds")
	if err != nil {
		return nil, err
	}
	for _, k := range kindNames {
		if !providers.KnownKind(providers.Kind(k)) {
			return nil, action.BadParams("kinds: unknown resource kind %q", k)
		}
	}
	who, err := compromised(x)
	if err != nil {
		return nil, err
	}
	// An audit log shows a call minutes after it (CloudTrail about 5):
	// what was planted just before containment is not there yet.
	if settle > 0 {
		if err := x.Sleep(ctx, settle); err != nil {
			return nil, fmt.Errorf("waiting %v for the audit log to settle: %w", settle, err)
		}
	}
	now := x.Now()
	planted := PlantedFacts{}
	seen := map[providers.ResourceRef]bool{}
	var events []providers.AuditEvent
	for _, p := range who {
		evs, err := au.QueryAudit(ctx, providers.AuditQuery{Start: now.Add(-lookback), End: now, Role: p, AllRegions: true})
		if err != nil {
			return nil, fmt.Errorf("querying the audit log for what %s created: %w", p, err)
		}
		events = append(events, evs...)
	}
	for _, e := range events {
		if e.ErrorCode != "" {
			continue
		}
		for _, ref := range e.Created {
			if seen[ref] || (len(kindNames) > 0 && !slices.Contains(kindNames, string(ref.Kind))) {
				continue
			}
			seen[ref] = true
			planted[ref.Kind] = append(planted[ref.Kind], Planted{ID: ref.ID, Region: e.Region,
				CreatedAt: e.Time.UTC().Format(time.RFC3339), Operation: e.Operation, By: e.Principal, SourceIP: e.SourceIP})
		}
	}
	facts := map[string]any{}
	counts := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(planted)) {
		list := []any{}
		for _, p := range planted[k] {
			list = append(list, map[string]any{"id": p.ID, "region": p.Region, "created_at": p.CreatedAt,
				"operation": p.Operation, "by": p.By, "source_ip": p.SourceIP})
		}
		facts[string(k)] = list
		counts[string(k)] = len(list)
	}
	x.SetFact("planted", facts)
	body, err := json.MarshalIndent(map[string]any{"principals": who, "since": now.Add(-lookback).UTC().Format(time.RFC3339),
		"planted": planted}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding what was planted: %w", err)
	}
	ev, err := x.StoreArtifact(ctx, "planted-"+x.StepID+".json", body)
	if err != nil {
		return nil, err
	}
	x.AddEvidence(action.Evidence{Kind: action.KindAuditLog, ID: ev.ID, Location: ev.Location, SHA256: ev.SHA256, Size: ev.Size,
		Source: "audit log", State: "completed", CollectedBy: ev.CollectedBy, CollectedAt: ev.CollectedAt})
	principals := []any{}
	for _, p := range who {
		principals = append(principals, p)
	}
	return map[string]any{"principals": principals, "planted": counts}, nil
}

// PlantedOf reads facts.planted.<kind>: the ids and regions find_planted
// recorded, in its order.
func PlantedOf(x *action.Run, kind providers.Kind) []Planted {
	v, _ := x.Fact("planted", string(kind))
	list, _ := v.([]any)
	var out []Planted
	for _, e := range list {
		m, _ := e.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, Planted{ID: str("id"), Region: str("region"), CreatedAt: str("created_at"),
			Operation: str("operation"), By: str("by"), SourceIP: str("source_ip")})
	}
	return out
}

// PlantedAction is an action on what find_planted found: through the
// provider capability C, act on each resource of Kind, recorded first as
// "<Record>-<name>-before-<Verb>" (once it is disabled or gone, the record
// is what an investigation keeps); the step's output lists them under Done.
type PlantedAction[C any] struct {
	Name, Domain, Doc string
	Kind              providers.Kind
	Record, Verb      string
	Done              string
	Act               func(ctx context.Context, c C, p Planted) error
}

// Register adds the action to the registry.
func (a PlantedAction[C]) Register() {
	action.Register(action.Spec{Name: a.Name, Domain: a.Domain, Mutates: true, Doc: a.Doc,
		Needs: []action.Capability{action.Need[C]()},
		Run: func(ctx context.Context, x *action.Run) (map[string]any, error) {
			c, err := action.Get[C](x)
			if err != nil {
				return nil, err
			}
			done, gone, err := RemovePlanted(ctx, x, a.Kind,
				func(p Planted) string { return a.Record + "-" + path.Base(p.ID) + "-before-" + a.Verb },
				func(p Planted) error { return a.Act(ctx, c, p) })
			return map[string]any{a.Done: done, "already_gone": gone}, err
		}})
}

// RemovePlanted records, then removes, each resource of a kind that
// find_planted found: remove acts on one; name names its evidence record.
// A resource already gone counts as removed (a retried step does not fail
// on its own work); the other failures are joined, after every resource
// was tried.
func RemovePlanted(ctx context.Context, x *action.Run, kind providers.Kind, name func(Planted) string,
	remove func(Planted) error) (done, gone []any, err error) {
	done, gone = []any{}, []any{}
	var errs []error
	for _, p := range PlantedOf(x, kind) {
		if err := x.RecordPlanted(ctx, name(p), map[string]any{"planted": p}); err != nil {
			errs = append(errs, err)
			continue
		}
		err := remove(p)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			gone = append(gone, p.ID)
		case err != nil:
			errs = append(errs, fmt.Errorf("removing planted %s %s: %w", kind, p.ID, err))
		default:
			done = append(done, p.ID)
		}
	}
	return done, gone, errors.Join(errs...)
}
