package gcp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/api/iterator"
	"google.golang.org/genproto/googleapis/cloud/audit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/firedrill-ir/firedrill/providers"
)

// auditFilter builds a Logging query for the Cloud Audit Logs of the
// project from the neutral query; every field filters server-side.
func (p *Provider) auditFilter(q providers.AuditQuery) string {
	terms := []string{fmt.Sprintf(`logName:"projects/%s/logs/cloudaudit.googleapis.com"`, p.project)}
	if !q.Start.IsZero() {
		terms = append(terms, fmt.Sprintf(`timestamp>="%s"`, q.Start.UTC().Format(time.RFC3339Nano)))
	}
	if !q.End.IsZero() {
		terms = append(terms, fmt.Sprintf(`timestamp<="%s"`, q.End.UTC().Format(time.RFC3339Nano)))
	}
	if q.Resource != "" {
		terms = append(terms, fmt.Sprintf(`protoPayload.resourceName:%s`, strconv.Quote(strings.TrimPrefix(trimLink(q.Resource), "//compute.googleapis.com/"))))
	}
	if q.Principal != "" {
		terms = append(terms, fmt.Sprintf(`protoPayload.authenticationInfo.principalEmail=%s`, strconv.Quote(q.Principal)))
	}
	if q.Operation != "" {
		terms = append(terms, fmt.Sprintf(`protoPayload.methodName:%s`, strconv.Quote(q.Operation)))
	}
	if q.AccessKeyID != "" {
		terms = append(terms, fmt.Sprintf(`protoPayload.authenticationInfo.serviceAccountKeyName:%s`, strconv.Quote(q.AccessKeyID)))
	}
	return strings.Join(terms, " AND ")
}

// pace keeps entries:list under Cloud Logging's read quota (60 a minute
// per project), waiting on the Sleeper.
func (p *Provider) pace(ctx context.Context) error {
	p.mu.Lock()
	wait := time.Duration(0)
	if !p.lastLog.IsZero() {
		wait = p.logInterval - p.sleeper.Now().Sub(p.lastLog)
	}
	p.mu.Unlock()
	if wait > 0 {
		if err := p.sleeper.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.lastLog = p.sleeper.Now()
	p.mu.Unlock()
	return nil
}

// Query reads the project's audit logs (Admin Activity, and Data Access
// where enabled), oldest first, paging until Max entries or the end.
func (a *Provider) QueryAudit(ctx context.Context, q providers.AuditQuery) ([]providers.AuditEvent, error) {
	p := a
	req := &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + p.project}, Filter: p.auditFilter(q),
		OrderBy: "timestamp asc", PageSize: 1000}
	if q.Max > 0 && q.Max < 1000 {
		req.PageSize = int32(q.Max)
	}
	var out []providers.AuditEvent
	for {
		if err := p.pace(ctx); err != nil {
			return out, wrapErr("logging.entries.list", "projects/"+p.project, err)
		}
		var page []*loggingpb.LogEntry
		next := ""
		err := p.call(ctx, "logging.entries.list", "projects/"+p.project, func(ctx context.Context) error {
			it := p.logs.ListLogEntries(ctx, req, noRetry)
			pager := iterator.NewPager(it, int(req.PageSize), req.PageToken)
			page = nil
			var err error
			next, err = pager.NextPage(&page)
			return err
		})
		if err != nil {
			return out, err
		}
		for _, le := range page {
			ev := auditEvent(le)
			// A service account calls as its email.
			if q.Role != "" && !strings.EqualFold(ev.Principal, q.Role) &&
				!strings.HasSuffix(strings.ToLower(ev.Principal), "/"+strings.ToLower(q.Role)) {
				continue
			}
			out = append(out, ev)
			if q.Max > 0 && len(out) >= q.Max {
				return out, nil
			}
		}
		if next == "" {
			return out, nil
		}
		req.PageToken = next
	}
}

var grpcNames = map[int32]string{1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
	6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED",
	11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED"}

func auditEvent(le *loggingpb.LogEntry) providers.AuditEvent {
	ev := providers.AuditEvent{ID: le.GetInsertId(), Time: le.GetTimestamp().AsTime(),
		ReadOnly: strings.HasSuffix(le.GetLogName(), "data_access")}
	if raw, err := protojson.Marshal(le); err == nil {
		ev.Raw = string(raw)
	}
	var al audit.AuditLog
	if pp := le.GetProtoPayload(); pp != nil && pp.UnmarshalTo(&al) == nil {
		ev.Service, ev.Operation = al.GetServiceName(), al.GetMethodName()
		ev.Principal = al.GetAuthenticationInfo().GetPrincipalEmail()
		ev.SourceIP = al.GetRequestMetadata().GetCallerIp()
		if rn := al.GetResourceName(); rn != "" {
			ev.Resources = []string{rn}
			if kind, ok := gcpCreates[ev.Operation]; ok && al.GetStatus().GetCode() == 0 {
				ev.Created = []providers.ResourceRef{providers.Ref(providers.CloudGCP, kind, rn)}
			}
		}
		if k := al.GetAuthenticationInfo().GetServiceAccountKeyName(); k != "" {
			ev.AccessKeyID = k[strings.LastIndexByte(k, '/')+1:]
		}
		if code := al.GetStatus().GetCode(); code != 0 {
			ev.ErrorCode = grpcNames[code]
			if ev.ErrorCode == "" {
				ev.ErrorCode = strconv.Itoa(int(code))
			}
		}
	}
	return ev
}

// gcpCreates are the audited methods that create a resource, and its kind.
var gcpCreates = map[string]providers.Kind{
	"v1.compute.firewalls.insert":                 providers.KindNetworkRule,
	"v1.compute.instances.insert":                 providers.KindVM,
	"google.iam.admin.v1.CreateServiceAccountKey": providers.KindAccessKey,
	"google.iam.admin.v1.CreateServiceAccount":    providers.KindPrincipal,
}
