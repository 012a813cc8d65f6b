package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/firedrill-ir/firedrill/providers"
)

// defaultAuditWindow is the lookback when the query names no start (the
// Activity Log requires one).
const defaultAuditWindow = 24 * time.Hour

// Query lists Activity Log events. The time window, resource and caller are
// pushed down into $filter (eventTimestamp is mandatory); operation and
// token id (AccessKeyID: the uti claim) are applied here. Reads never
// appear: the Activity Log records writes, deletes and actions. Results are
// oldest first; with Max, the newest Max are kept.
func (a *Provider) QueryAudit(ctx context.Context, q providers.AuditQuery) ([]providers.AuditEvent, error) {
	p := a
	start := q.Start
	if start.IsZero() {
		start = p.sleeper.Now().Add(-defaultAuditWindow)
	}
	clauses := []string{fmt.Sprintf("eventTimestamp ge '%s'", start.UTC().Format(time.RFC3339))}
	if !q.End.IsZero() {
		clauses = append(clauses, fmt.Sprintf("eventTimestamp le '%s'", q.End.UTC().Format(time.RFC3339)))
	}
	if strings.HasPrefix(q.Resource, "/subscriptions/") {
		clauses = append(clauses, fmt.Sprintf("resourceUri eq '%s'", q.Resource))
	}
	if q.Principal != "" {
		clauses = append(clauses, fmt.Sprintf("caller eq '%s'", q.Principal))
	}
	filter := strings.Join(clauses, " and ")
	var out []providers.AuditEvent
	pg := p.activity.NewListPager(filter, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("monitor:ActivityLogs.List", filter, err)
		}
		for _, e := range page.Value {
			ev := toAuditEvent(e)
			if matches(q, ev) {
				out = append(out, ev)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	if q.Max > 0 && len(out) > q.Max {
		out = out[len(out)-q.Max:]
	}
	return out, nil
}

func toAuditEvent(e *armmonitor.EventData) providers.AuditEvent {
	ev := providers.AuditEvent{ID: str(e.EventDataID), Principal: str(e.Caller), Raw: ""}
	if e.EventTimestamp != nil {
		ev.Time = e.EventTimestamp.UTC()
	}
	if e.ResourceProviderName != nil {
		ev.Service = str(e.ResourceProviderName.Value)
	}
	if e.OperationName != nil {
		ev.Operation = str(e.OperationName.Value)
	}
	if r := str(e.ResourceID); r != "" {
		ev.Resources = []string{r}
		succeeded := e.Status == nil || str(e.Status.Value) == "Succeeded" || str(e.Status.Value) == "Accepted"
		if kind, ok := armCreates[strings.ToLower(ev.Operation)]; ok && succeeded {
			ev.Created = []providers.ResourceRef{providers.Ref(providers.CloudAzure, kind, r)}
		}
	}
	if e.HTTPRequest != nil {
		ev.SourceIP = str(e.HTTPRequest.ClientIPAddress)
	}
	ev.AccessKeyID = str(e.Claims["uti"])
	if e.Status != nil && str(e.Status.Value) == "Failed" {
		ev.ErrorCode = "Failed"
		if e.SubStatus != nil && str(e.SubStatus.Value) != "" {
			ev.ErrorCode = str(e.SubStatus.Value)
		}
		var sm struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if msg := str(e.Properties["statusMessage"]); msg != "" && json.Unmarshal([]byte(msg), &sm) == nil && sm.Error.Code != "" {
			ev.ErrorCode = sm.Error.Code
		}
	}
	if raw, err := json.Marshal(e); err == nil {
		ev.Raw = string(raw)
	}
	return ev
}

func matches(q providers.AuditQuery, ev providers.AuditEvent) bool {
	if !q.Start.IsZero() && ev.Time.Before(q.Start) {
		return false
	}
	if !q.End.IsZero() && ev.Time.After(q.End) {
		return false
	}
	if q.AccessKeyID != "" && ev.AccessKeyID != q.AccessKeyID {
		return false
	}
	if q.Operation != "" && !strings.EqualFold(ev.Operation, q.Operation) {
		return false
	}
	if q.Principal != "" && !strings.EqualFold(ev.Principal, q.Principal) {
		return false
	}
	// A managed identity calls as its object id.
	if q.Role != "" && !strings.EqualFold(ev.Principal, q.Role) &&
		!strings.HasSuffix(strings.ToLower(ev.Principal), "/"+strings.ToLower(q.Role)) {
		return false
	}
	if q.Resource != "" && !slices.ContainsFunc(ev.Resources, func(r string) bool {
		return strings.EqualFold(r, q.Resource) || strings.HasSuffix(strings.ToLower(r), "/"+strings.ToLower(q.Resource))
	}) {
		return false
	}
	return true
}

// armCreates are the Activity Log operations that create (or replace) a
// resource an attacker plants, and its kind. A write on an NSG as a whole
// is not here: it names the NSG, not the rule it added.
var armCreates = map[string]providers.Kind{
	"microsoft.network/networksecuritygroups/securityrules/write": providers.KindNetworkRule,
	"microsoft.managedidentity/userassignedidentities/write":      providers.KindPrincipal,
}
