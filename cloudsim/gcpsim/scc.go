package gcpsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

// SCCDetectorPrefix marks world findings raised by the Security Command
// Center models; the part after the slash is the SCC service ("etd" Event
// Threat Detection, "vmtd" VM Threat Detection).
const SCCDetectorPrefix = "scc/"

func sccRoutes() []*route {
	const p = "v2/projects/{project}/sources/{source}/"
	const o = "v2/organizations/{org}/sources/{source}/"
	s := "securitycenter"
	routes := []*route{
		r("GET", p+"findings", s, "findings.list", "securitycenter.findings.list", true, 300*time.Millisecond, findingsList),
		r("GET", p+"locations/{location}/findings", s, "findings.list", "securitycenter.findings.list", true, 300*time.Millisecond, findingsList),
		r("GET", o+"locations/{location}/findings", s, "findings.list", "", true, 300*time.Millisecond, findingsList),
		r("GET", o+"findings", s, "findings.list", "", true, 300*time.Millisecond, findingsList),
	}
	for _, f := range []string{p + "locations/{location}/findings/{finding}", p + "findings/{finding}",
		"v1/projects/{project}/sources/{source}/findings/{finding}"} {
		routes = append(routes,
			r("POST", f+":setState", s, "findings.setState", "securitycenter.findings.setState", false, 250*time.Millisecond, findingSetState),
			r("POST", f+":setMute", s, "findings.setMute", "securitycenter.findings.setMute", false, 250*time.Millisecond, findingSetMute))
	}
	return routes
}

// findingMarks are what responders changed on SCC findings: the world
// finding's Archived flag is its state (INACTIVE), the rest lives here.
type findingMarks struct{ byID map[string]*findingMark }

type findingMark struct {
	mute           securitycenterpb.Finding_Mute
	muteUpdateTime time.Time
}

func (c *call) findingMarks() *findingMarks {
	return c.w.ExtLocked("gcpsim.findingMarks", func() any { return &findingMarks{byID: map[string]*findingMark{}} }).(*findingMarks)
}

// findingMark is the finding's marks, created for a change.
func (c *call) findingMark(id string) *findingMark {
	fm := c.findingMarks()
	if fm.byID[id] == nil {
		fm.byID[id] = &findingMark{}
	}
	return fm.byID[id]
}

// findingFor resolves {project}/{source}/{finding} to a visible SCC
// finding of the project.
func (c *call) findingFor() (*gcpworld.Project, string, *world.Finding, *apiError) {
	p := gcpworld.Of(c.w).Projects.Lookup(c.project)
	name := strings.TrimPrefix(strings.SplitN(c.req.URL.Path, ":", 2)[0], "/")
	c.resource("audited_resource", name, map[string]string{"service": "securitycenter.googleapis.com", "project_id": c.project})
	if loc := c.vars["location"]; loc != "" && loc != "global" {
		return nil, "", nil, badRequest("securitycenter", "Invalid location '%s': findings are in the 'global' location", loc)
	}
	for _, f := range c.w.Findings {
		svc, ok := strings.CutPrefix(f.Detector, SCCDetectorPrefix)
		if ok && f.ID == c.vars["finding"] && f.Account == p.ID && !f.CreatedAt.After(c.now) && SourceID(p, svc) == c.vars["source"] {
			return p, c.vars["source"], f, nil
		}
	}
	return nil, "", nil, notFoundErr("securitycenter", name)
}

// findingSetState marks a finding ACTIVE or INACTIVE (a responder closing
// it); an INACTIVE finding that recurs is raised anew.
func findingSetState(c *call) (any, *apiError) {
	p, src, f, e := c.findingFor()
	if e != nil {
		return nil, e
	}
	var req securitycenterpb.SetFindingStateRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	switch req.State {
	case securitycenterpb.Finding_ACTIVE, securitycenterpb.Finding_INACTIVE:
	default:
		return nil, badRequest("securitycenter", "Invalid state '%s': expected ACTIVE or INACTIVE", req.State)
	}
	f.Archived = req.State == securitycenterpb.Finding_INACTIVE
	return c.findingResult(p, src, f).Finding, nil
}

// findingSetMute mutes or unmutes a finding (UNDEFINED clears the mark).
func findingSetMute(c *call) (any, *apiError) {
	p, src, f, e := c.findingFor()
	if e != nil {
		return nil, e
	}
	var req securitycenterpb.SetMuteRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if req.Mute == securitycenterpb.Finding_MUTE_UNSPECIFIED {
		return nil, badRequest("securitycenter", "Invalid mute '%s': expected MUTED, UNMUTED or UNDEFINED", req.Mute)
	}
	m := c.findingMark(f.ID)
	m.mute, m.muteUpdateTime = req.Mute, c.now
	return c.findingResult(p, src, f).Finding, nil
}

// SourceID is the numeric SCC source id of a detector service in a project.
func SourceID(p *gcpworld.Project, service string) string {
	base := p.Number % 1_000_000_000
	switch service {
	case "vmtd":
		return strconv.FormatUint(base*10+2, 10)
	case "etd":
		return strconv.FormatUint(base*10+1, 10)
	}
	return strconv.FormatUint(base*10+9, 10)
}

func findingsList(c *call) (any, *apiError) {
	g := gcpworld.Of(c.w)
	var projects []*gcpworld.Project
	if org := c.vars["org"]; org != "" {
		for _, id := range g.Projects.Keys() {
			if g.Projects.Lookup(id).Organization == org && gcpworld.Of(c.w).Allowed(id, c.caller.Member(), "securitycenter.findings.list") {
				projects = append(projects, g.Projects.Lookup(id))
			}
		}
		if len(projects) == 0 {
			return nil, denied("securitycenter", "securitycenter.findings.list", "organizations/"+org)
		}
		c.project = projects[0].ID
	} else {
		projects = []*gcpworld.Project{g.Projects.Lookup(c.project)}
	}
	c.resource("audited_resource", strings.TrimPrefix(c.req.URL.Path, "/v2/"), map[string]string{"service": "securitycenter.googleapis.com"})
	if loc := c.vars["location"]; loc != "" && loc != "global" {
		return nil, badRequest("securitycenter", "Invalid location '%s': findings are in the 'global' location", loc)
	}
	for _, p := range projects {
		if !p.SCC {
			return nil, &apiError{code: 400, status: "FAILED_PRECONDITION", reason: "SERVICE_DISABLED", domain: "googleapis.com",
				message: fmt.Sprintf("Security Command Center is not activated for project %s.", p.ID)}
		}
	}
	filter, err := parseLogFilter(c.query.Get("filter"))
	if err != nil {
		return nil, badRequest("securitycenter", "Invalid filter: %v", err)
	}
	var results []*securitycenterpb.ListFindingsResponse_ListFindingsResult
	for _, p := range projects {
		for _, f := range c.w.Findings {
			svc, ok := strings.CutPrefix(f.Detector, SCCDetectorPrefix)
			if !ok || f.Account != p.ID || f.CreatedAt.After(c.now) {
				continue
			}
			src := SourceID(p, svc)
			if s := c.vars["source"]; s != "-" && s != src {
				continue
			}
			res := c.findingResult(p, src, f)
			if filter.match(findingFields(res.Finding)) {
				results = append(results, res)
			}
		}
	}
	size := 10
	if v := c.query.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return nil, badRequest("securitycenter", "Invalid page_size %q: must be between 1 and 1000", v)
		}
		if n > 0 {
			size = n
		}
	}
	lo := 0
	if v := c.query.Get("pageToken"); v != "" {
		o, err := strconv.Atoi(strings.TrimPrefix(v, "f"))
		if err != nil || o < 0 || o > len(results) {
			return nil, badRequest("securitycenter", "Invalid page token '%s'", v)
		}
		lo = o
	}
	hi := lo + size
	out := &securitycenterpb.ListFindingsResponse{TotalSize: int32(len(results))}
	if hi < len(results) {
		out.NextPageToken = fmt.Sprintf("f%d", hi)
	} else {
		hi = len(results)
	}
	out.ListFindingsResults = results[lo:hi]
	return out, nil
}

func findingFields(f *securitycenterpb.Finding) func(string) (string, bool) {
	return func(field string) (string, bool) {
		switch field {
		case "category":
			return f.Category, true
		case "state":
			return f.State.String(), true
		case "severity":
			return f.Severity.String(), true
		case "resource_name", "resourceName":
			return f.ResourceName, true
		case "event_time", "eventTime":
			return f.EventTime.AsTime().UTC().Format(time.RFC3339Nano), true
		case "create_time", "createTime":
			return f.CreateTime.AsTime().UTC().Format(time.RFC3339Nano), true
		case "finding_class", "findingClass":
			return f.FindingClass.String(), true
		case "mute":
			return f.Mute.String(), true
		case "name":
			return f.Name, true
		}
		return "", false
	}
}

// findingResult renders a world finding as SCC v2 lists it, with the
// state and mute set through the API.
func (c *call) findingResult(p *gcpworld.Project, src string, f *world.Finding) *securitycenterpb.ListFindingsResponse_ListFindingsResult {
	return findingResult(p, src, f, c.findingMarks().byID[f.ID])
}

// findingResult renders a world finding as SCC v2 lists it; mark (nil: none)
// is what callers set on it through the API.
func findingResult(p *gcpworld.Project, src string, f *world.Finding, mark *findingMark) *securitycenterpb.ListFindingsResponse_ListFindingsResult {
	parent := fmt.Sprintf("projects/%s/sources/%s/locations/global", p.ID, src)
	fd := &securitycenterpb.Finding{
		Name: parent + "/findings/" + f.ID, CanonicalName: parent + "/findings/" + f.ID, Parent: parent,
		ResourceName: "//compute.googleapis.com/" + f.ResourceID, State: securitycenterpb.Finding_ACTIVE,
		Category: f.Type, EventTime: timestamppb.New(f.LastSeen), CreateTime: timestamppb.New(f.CreatedAt),
		Severity: sccSeverity(f.Severity), FindingClass: securitycenterpb.Finding_THREAT, Description: f.Description,
		Mute:        securitycenterpb.Finding_UNDEFINED,
		ExternalUri: "https://console.cloud.google.com/security/command-center/findings?project=" + p.ID,
		SourceProperties: map[string]*structpb.Value{
			"detectionCount": structpb.NewNumberValue(float64(f.Count)),
			"evidence_title": structpb.NewStringValue(f.Title),
		},
	}
	if f.ResourceType == "ServiceAccount" {
		fd.ResourceName = "//iam.googleapis.com/" + f.ResourceID
	}
	if f.Archived {
		fd.State = securitycenterpb.Finding_INACTIVE
	}
	if mark != nil && mark.mute != securitycenterpb.Finding_MUTE_UNSPECIFIED {
		fd.Mute, fd.MuteUpdateTime = mark.mute, timestamppb.New(mark.muteUpdateTime)
	}
	if f.RemoteIP != "" || f.Domain != "" {
		fd.Indicator = &securitycenterpb.Indicator{}
		if f.RemoteIP != "" {
			fd.Indicator.IpAddresses = []string{f.RemoteIP}
		}
		if f.Domain != "" {
			fd.Indicator.Domains = []string{f.Domain}
		}
	}
	if f.RemotePort != 0 {
		fd.Connections = []*securitycenterpb.Connection{{DestinationIp: f.RemoteIP, DestinationPort: int32(f.RemotePort),
			Protocol: securitycenterpb.Connection_TCP}}
	}
	if f.PrincipalARN != "" {
		fd.Access = &securitycenterpb.Access{PrincipalEmail: f.PrincipalARN, CallerIp: f.RemoteIP,
			ServiceName: f.APIService, MethodName: f.API, PrincipalSubject: "serviceAccount:" + f.PrincipalARN}
		if f.AccessKeyID != "" {
			fd.Access.ServiceAccountKeyName = fmt.Sprintf("//iam.googleapis.com/projects/%s/serviceAccounts/%s/keys/%s", p.ID, f.PrincipalARN, f.AccessKeyID)
		}
	}
	switch {
	case strings.Contains(f.Type, "Cryptomining"), strings.Contains(f.Type, "Cryptocurrency"):
		fd.MitreAttack = &securitycenterpb.MitreAttack{PrimaryTactic: securitycenterpb.MitreAttack_IMPACT,
			PrimaryTechniques: []securitycenterpb.MitreAttack_Technique{securitycenterpb.MitreAttack_RESOURCE_HIJACKING}}
	case f.ResourceType == "ServiceAccount":
		fd.MitreAttack = &securitycenterpb.MitreAttack{PrimaryTactic: securitycenterpb.MitreAttack_INITIAL_ACCESS,
			PrimaryTechniques: []securitycenterpb.MitreAttack_Technique{securitycenterpb.MitreAttack_VALID_ACCOUNTS}}
	}
	res := &securitycenterpb.ListFindingsResponse_ListFindingsResult_Resource{
		Name: fd.ResourceName, DisplayName: lastSegment(f.ResourceID), CloudProvider: securitycenterpb.CloudProvider_GOOGLE_CLOUD_PLATFORM,
		Service: "compute.googleapis.com", Type: "google.compute.Instance", Location: f.Region,
		CloudProviderMetadata: &securitycenterpb.ListFindingsResponse_ListFindingsResult_Resource_GcpMetadata{
			GcpMetadata: &securitycenterpb.GcpMetadata{Project: fmt.Sprintf("//cloudresourcemanager.googleapis.com/projects/%d", p.Number),
				ProjectDisplayName: p.ID, Organization: p.Organization}},
	}
	if f.ResourceType == "ServiceAccount" {
		res.Service, res.Type = "iam.googleapis.com", "google.iam.ServiceAccount"
	}
	return &securitycenterpb.ListFindingsResponse_ListFindingsResult{Finding: fd, Resource: res}
}

func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func sccSeverity(v float64) securitycenterpb.Finding_Severity {
	switch {
	case v >= 9:
		return securitycenterpb.Finding_CRITICAL
	case v >= 7:
		return securitycenterpb.Finding_HIGH
	case v >= 4:
		return securitycenterpb.Finding_MEDIUM
	}
	return securitycenterpb.Finding_LOW
}
