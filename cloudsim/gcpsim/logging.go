package gcpsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/genproto/googleapis/cloud/audit"
	ltype "google.golang.org/genproto/googleapis/logging/type"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

func loggingRoutes() []*route {
	return []*route{
		r("POST", "v2/entries:list", "logging", "entries.list", "", true, 450*time.Millisecond, entriesList),
	}
}

// authorize checks a permission for handlers whose project is only known
// from the request body.
func (c *call) authorize(project, perm string) *apiError {
	c.project = project
	if gcpworld.Of(c.w).Projects.Lookup(project) == nil {
		return &apiError{code: 403, status: "PERMISSION_DENIED", reason: "IAM_PERMISSION_DENIED", domain: "iam.googleapis.com",
			message: fmt.Sprintf("Permission '%s' denied on resource 'projects/%s' (or it may not exist).", perm, project)}
	}
	if !gcpworld.Of(c.w).Allowed(project, c.caller.Member(), perm) {
		return denied(c.rt.service, perm, "projects/"+project)
	}
	return nil
}

type readWindow struct{ calls map[string][]time.Time }

// logReadQuotaLocked enforces Cloud Logging's read quota (60 entries:list
// calls per minute per project): a responder that pages through the log
// without pacing gets 429s the Go client does not retry.
func (c *call) logReadQuotaLocked(project string) *apiError {
	limit := c.s.LoggingReadsPerMinute
	if limit <= 0 {
		return nil
	}
	rw := c.w.ExtLocked("gcpsim.loggingReads", func() any { return &readWindow{calls: map[string][]time.Time{}} }).(*readWindow)
	recent := rw.calls[project][:0:0]
	for _, t := range rw.calls[project] {
		if c.now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= limit {
		rw.calls[project] = recent
		return throttled("logging")
	}
	rw.calls[project] = append(recent, c.now)
	return nil
}

func entriesList(c *call) (any, *apiError) {
	var req loggingpb.ListLogEntriesRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if len(req.ResourceNames) == 0 {
		return nil, badRequest("logging", "resourceNames: at least one resource name is required")
	}
	var projects []string
	for _, rn := range req.ResourceNames {
		p, ok := strings.CutPrefix(rn, "projects/")
		if !ok || p == "" || strings.Contains(p, "/") {
			return nil, badRequest("logging", "Invalid resource name '%s': the simulator serves projects/<id> only", rn)
		}
		projects = append(projects, p)
	}
	for _, p := range projects {
		if e := c.authorize(p, "logging.logEntries.list"); e != nil {
			return nil, e
		}
	}
	c.resource("project", "projects/"+projects[0], map[string]string{"project_id": projects[0]})
	if e := c.logReadQuotaLocked(projects[0]); e != nil {
		return nil, e
	}
	filter, err := parseLogFilter(req.Filter)
	if err != nil {
		return nil, badRequest("logging", "Invalid filter: %v", err)
	}
	desc := false
	switch strings.ToLower(strings.Join(strings.Fields(req.OrderBy), " ")) {
	case "", "timestamp asc", "timestamp":
	case "timestamp desc":
		desc = true
	default:
		return nil, badRequest("logging", "Invalid order_by: '%s'. Only 'timestamp asc' and 'timestamp desc' are supported.", req.OrderBy)
	}
	size := int(req.PageSize)
	if size <= 0 {
		size = 50
	}
	if size > 1000 {
		size = 1000
	}
	var entries []*loggingpb.LogEntry
	for _, p := range projects {
		dataAccess := gcpworld.Of(c.w).Projects.Lookup(p).DataAccessLogs
		for _, ev := range c.w.DeliveredAuditLocked("gcp", p, c.now) {
			if ev.Params["logName"] == LogDataAccess && !dataAccess {
				continue // Data Access logs are off by default on GCP
			}
			le := logEntry(ev)
			if filter.match(entryFields(le, ev)) {
				entries = append(entries, le)
			}
		}
	}
	sort.SliceStable(entries, func(i, j int) bool {
		ti, tj := entries[i].Timestamp.AsTime(), entries[j].Timestamp.AsTime()
		if desc {
			return ti.After(tj)
		}
		return ti.Before(tj)
	})
	lo := 0
	if req.PageToken != "" {
		o, err := strconv.Atoi(strings.TrimPrefix(req.PageToken, "o"))
		if err != nil || o < 0 || o > len(entries) {
			return nil, badRequest("logging", "Invalid page token '%s'", req.PageToken)
		}
		lo = o
	}
	hi := lo + size
	out := &loggingpb.ListLogEntriesResponse{}
	if hi < len(entries) {
		out.NextPageToken = fmt.Sprintf("o%d", hi)
	} else {
		hi = len(entries)
	}
	out.Entries = entries[lo:hi]
	return out, nil
}

var grpcCodes = map[string]int32{"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9, "ABORTED": 10,
	"OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16}

// logEntry renders an audit event as Cloud Logging returns it: a LogEntry
// whose protoPayload is a google.cloud.audit.AuditLog.
func logEntry(ev *world.AuditEvent) *loggingpb.LogEntry {
	log := ev.Params["logName"]
	if log == "" {
		log = LogActivity
	}
	res := &monitoredres.MonitoredResource{Type: "audited_resource", Labels: map[string]string{}}
	name := ""
	if len(ev.Resources) > 0 {
		res.Type, name = ev.Resources[0].Type, ev.Resources[0].Name
	}
	for k, v := range ev.Params {
		if l, ok := strings.CutPrefix(k, "resource.labels."); ok {
			res.Labels[l] = v
		}
	}
	if _, ok := res.Labels["project_id"]; !ok {
		res.Labels["project_id"] = ev.Account
	}
	al := &audit.AuditLog{ServiceName: ev.Service, MethodName: ev.Operation, ResourceName: name,
		AuthenticationInfo: &audit.AuthenticationInfo{PrincipalEmail: ev.PrincipalARN},
		RequestMetadata:    &audit.RequestMetadata{CallerIp: ev.SourceIP, CallerSuppliedUserAgent: ev.UserAgent}}
	if perm := ev.Params["permission"]; perm != "" {
		al.AuthorizationInfo = []*audit.AuthorizationInfo{{Resource: name, Permission: perm, Granted: ev.ErrorCode != "PERMISSION_DENIED"}}
	}
	if ev.AccessKeyID != "" {
		al.AuthenticationInfo.ServiceAccountKeyName = fmt.Sprintf("//iam.googleapis.com/projects/%s/serviceAccounts/%s/keys/%s", ev.Account, ev.PrincipalARN, ev.AccessKeyID)
	}
	sev := ltype.LogSeverity_NOTICE
	if log == LogDataAccess {
		sev = ltype.LogSeverity_INFO
	}
	if ev.ErrorCode != "" {
		al.Status = &spb.Status{Code: grpcCodes[ev.ErrorCode], Message: ev.ErrorMessage}
		sev = ltype.LogSeverity_ERROR
	}
	payload, _ := anypb.New(al)
	return &loggingpb.LogEntry{LogName: fmt.Sprintf("projects/%s/logs/%s", ev.Account, log), Resource: res,
		Timestamp: timestamppb.New(ev.Time), ReceiveTimestamp: timestamppb.New(ev.DeliverAt), Severity: sev,
		InsertId: ev.ID, Payload: &loggingpb.LogEntry_ProtoPayload{ProtoPayload: payload},
		Operation: &loggingpb.LogEntryOperation{Id: ev.RequestID, Producer: ev.Service, First: true, Last: true}}
}

// entryFields resolves filter field paths on an entry.
func entryFields(le *loggingpb.LogEntry, ev *world.AuditEvent) func(string) (string, bool) {
	return func(f string) (string, bool) {
		switch f {
		case "logName", "log_name":
			return le.LogName, true
		case "resource.type":
			return le.Resource.Type, true
		case "timestamp":
			return le.Timestamp.AsTime().UTC().Format(time.RFC3339Nano), true
		case "receiveTimestamp":
			return le.ReceiveTimestamp.AsTime().UTC().Format(time.RFC3339Nano), true
		case "severity":
			return le.Severity.String(), true
		case "insertId":
			return le.InsertId, true
		case "protoPayload.methodName":
			return ev.Operation, true
		case "protoPayload.serviceName":
			return ev.Service, true
		case "protoPayload.resourceName":
			if len(ev.Resources) > 0 {
				return ev.Resources[0].Name, true
			}
			return "", false
		case "protoPayload.authenticationInfo.principalEmail":
			return ev.PrincipalARN, true
		case "protoPayload.requestMetadata.callerIp":
			return ev.SourceIP, true
		case "protoPayload.requestMetadata.callerSuppliedUserAgent":
			return ev.UserAgent, true
		case "protoPayload.status.code":
			if ev.ErrorCode == "" {
				return "", false
			}
			return strconv.Itoa(int(grpcCodes[ev.ErrorCode])), true
		case "protoPayload.status.message":
			return ev.ErrorMessage, ev.ErrorCode != ""
		case "protoPayload.@type", `protoPayload."@type"`:
			return "type.googleapis.com/google.cloud.audit.AuditLog", true
		}
		if l, ok := strings.CutPrefix(f, "resource.labels."); ok {
			v, ok := le.Resource.Labels[l]
			return v, ok
		}
		return "", false
	}
}
