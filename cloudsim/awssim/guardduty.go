package awssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// GuardDuty (restJson1, lowerCamel member names) over world.Detectors and
// world.Findings. Findings are raised by the detector models in
// cloudsim/detect and only become visible at their CreatedAt, the modelled
// detection latency.

func guarddutyService() *Service {
	det := func(c *Call) []string {
		return []string{fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s", c.Region, c.Account(), c.PathVars["detectorId"])}
	}
	return &Service{
		Name: "guardduty", EventSource: "guardduty.amazonaws.com", proto: restJSON{},
		Route: guarddutyRoute,
		Ops: map[string]*Op{
			"ListDetectors":        {Handle: gdListDetectors},
			"CreateDetector":       {Handle: gdCreateDetector},
			"GetDetector":          {Resources: det, Handle: gdGetDetector},
			"ListFindings":         {Resources: det, Handle: gdListFindings},
			"GetFindings":          {Resources: det, Handle: gdGetFindings},
			"ArchiveFindings":      {Resources: det, Handle: func(c *Call) (any, error) { return gdArchive(c, true) }},
			"UnarchiveFindings":    {Resources: det, Handle: func(c *Call) (any, error) { return gdArchive(c, false) }},
			"CreateSampleFindings": {Resources: det, Handle: gdCreateSampleFindings},
		},
	}
}

// guarddutyRoute maps GuardDuty's REST paths to operations.
func guarddutyRoute(r *http.Request) (string, map[string]string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 0 || parts[0] != "detector" {
		return "", nil
	}
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodGet:
			return "ListDetectors", nil
		case http.MethodPost:
			return "CreateDetector", nil
		}
		return "", nil
	}
	vars := map[string]string{"detectorId": parts[1]}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		return "GetDetector", vars
	case len(parts) == 3 && parts[2] == "findings" && r.Method == http.MethodPost:
		return "ListFindings", vars
	case len(parts) == 4 && parts[2] == "findings" && r.Method == http.MethodPost:
		switch parts[3] {
		case "get":
			return "GetFindings", vars
		case "archive":
			return "ArchiveFindings", vars
		case "unarchive":
			return "UnarchiveFindings", vars
		case "create":
			return "CreateSampleFindings", vars
		}
	}
	return "", vars
}

// gdDetector finds the caller's detector or answers BadRequestException as
// GuardDuty does for an id the account does not own.
func gdDetector(c *Call) (*awsworld.Detector, error) {
	id := c.PathVars["detectorId"]
	d := awsworld.Of(c.World).Detectors.Lookup(id)
	if d == nil || d.Account != c.Account() || d.Region != c.Region {
		return nil, Errf(400, "BadRequestException", "The request is rejected because the input detectorId is not owned by the current account.")
	}
	c.Touch("AWS::GuardDuty::Detector", id)
	return d, nil
}

func gdTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func gdListDetectors(c *Call) (any, error) {
	ids := []string{}
	for _, id := range awsworld.Of(c.World).Detectors.Keys() {
		if d := awsworld.Of(c.World).Detectors.Lookup(id); d.Account == c.Account() && d.Region == c.Region {
			ids = append(ids, id)
		}
	}
	return map[string]any{"detectorIds": ids}, nil
}

func gdCreateDetector(c *Call) (any, error) {
	var in struct {
		Enable      *bool  `json:"enable"`
		ClientToken string `json:"clientToken"`
	}
	if err := gdDecode(c, &in); err != nil {
		return nil, err
	}
	// clientToken is CreateDetector's idempotency token (the SDK fills it
	// in and resends it on a retry): a retry answers the detector the first
	// call created instead of "a detector already exists". A token reused
	// with other parameters falls through to that answer.
	scope := c.Account() + "/" + c.Region + "/CreateDetector"
	fp := jsonFingerprint(c.Body, "clientToken")
	if in.ClientToken != "" {
		if prior, err := c.World.ClientTokenLocked(scope, in.ClientToken, fp); err == nil && prior != nil {
			if d := awsworld.Of(c.World).Detectors.Lookup(prior.IDs[0]); d != nil {
				c.Touch("AWS::GuardDuty::Detector", d.ID)
				return map[string]any{"detectorId": d.ID}, nil
			}
		}
	}
	for _, id := range awsworld.Of(c.World).Detectors.Keys() {
		if d := awsworld.Of(c.World).Detectors.Lookup(id); d.Account == c.Account() && d.Region == c.Region {
			return nil, Errf(400, "BadRequestException", "The request is rejected because a detector already exists for the current account.")
		}
	}
	rng := c.World.IDRandLocked()
	id := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	enabled := in.Enable == nil || *in.Enable
	awsworld.Of(c.World).Detectors.Put(id, &awsworld.Detector{ID: id, Account: c.Account(), Region: c.Region, Enabled: enabled, CreatedAt: c.Now})
	if in.ClientToken != "" {
		c.World.RememberClientTokenLocked(scope, in.ClientToken, &world.IdempotentCall{Fingerprint: fp, IDs: []string{id}})
	}
	c.Touch("AWS::GuardDuty::Detector", id)
	return map[string]any{"detectorId": id}, nil
}

// jsonFingerprint identifies a JSON request body's members, the named ones
// (a client token) left out.
func jsonFingerprint(body []byte, except ...string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return world.Fingerprint(map[string]string{"": string(body)})
	}
	params := make(map[string]string, len(m))
	for k, v := range m {
		params[k] = string(v)
	}
	return world.Fingerprint(params, except...)
}

func gdGetDetector(c *Call) (any, error) {
	d, err := gdDetector(c)
	if err != nil {
		return nil, err
	}
	status := "DISABLED"
	if d.Enabled {
		status = "ENABLED"
	}
	return map[string]any{
		"createdAt": gdTime(d.CreatedAt), "updatedAt": gdTime(d.CreatedAt), "status": status,
		"findingPublishingFrequency": "SIX_HOURS",
		"serviceRole":                fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty", d.Account),
		"tags":                       map[string]string{},
	}, nil
}

func gdDecode(c *Call, v any) error {
	if len(c.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		return Errf(400, "BadRequestException", "The request is rejected because the JSON could not be processed: %v", err)
	}
	return nil
}

// gdCondition is one criterion of findingCriteria (current and deprecated
// spellings).
type gdCondition struct {
	Eq                 []string `json:"eq"`
	Neq                []string `json:"neq"`
	Equals             []string `json:"equals"`
	NotEquals          []string `json:"notEquals"`
	Gt                 *float64 `json:"gt"`
	Gte                *float64 `json:"gte"`
	Lt                 *float64 `json:"lt"`
	Lte                *float64 `json:"lte"`
	GreaterThan        *float64 `json:"greaterThan"`
	GreaterThanOrEqual *float64 `json:"greaterThanOrEqual"`
	LessThan           *float64 `json:"lessThan"`
	LessThanOrEqual    *float64 `json:"lessThanOrEqual"`
}

type gdSort struct {
	AttributeName string `json:"attributeName"`
	OrderBy       string `json:"orderBy"`
}

// gdFields are the finding attributes criteria and sorting can name; each
// yields a string and, for numeric attributes, a number (timestamps in epoch
// milliseconds, as GuardDuty compares them).
var gdFields = map[string]func(f *world.Finding) (string, float64, bool){
	"id":        func(f *world.Finding) (string, float64, bool) { return f.ID, 0, false },
	"type":      func(f *world.Finding) (string, float64, bool) { return f.Type, 0, false },
	"accountId": func(f *world.Finding) (string, float64, bool) { return f.Account, 0, false },
	"region":    func(f *world.Finding) (string, float64, bool) { return f.Region, 0, false },
	"severity": func(f *world.Finding) (string, float64, bool) {
		return strconv.FormatFloat(f.Severity, 'f', -1, 64), f.Severity, true
	},
	"updatedAt": func(f *world.Finding) (string, float64, bool) {
		return gdTime(f.UpdatedAt), float64(f.UpdatedAt.UnixMilli()), true
	},
	"createdAt": func(f *world.Finding) (string, float64, bool) {
		return gdTime(f.CreatedAt), float64(f.CreatedAt.UnixMilli()), true
	},
	"resource.resourceType": func(f *world.Finding) (string, float64, bool) { return f.ResourceType, 0, false },
	"resource.instanceDetails.instanceId": func(f *world.Finding) (string, float64, bool) {
		if f.ResourceType != "Instance" {
			return "", 0, false
		}
		return f.ResourceID, 0, false
	},
	"resource.accessKeyDetails.accessKeyId": func(f *world.Finding) (string, float64, bool) { return f.AccessKeyID, 0, false },
	"service.archived": func(f *world.Finding) (string, float64, bool) {
		return strconv.FormatBool(f.Archived), 0, false
	},
	"service.count": func(f *world.Finding) (string, float64, bool) {
		return strconv.Itoa(f.Count), float64(f.Count), true
	},
	"service.action.networkConnectionAction.remoteIpDetails.ipAddressV4": func(f *world.Finding) (string, float64, bool) {
		return f.RemoteIP, 0, false
	},
	"service.action.dnsRequestAction.domain": func(f *world.Finding) (string, float64, bool) { return f.Domain, 0, false },
}

func gdMatch(f *world.Finding, field string, cond gdCondition) bool {
	get := gdFields[field]
	s, n, numeric := get(f)
	in := func(list []string) bool {
		for _, v := range list {
			if v == s {
				return true
			}
			if numeric {
				if x, err := strconv.ParseFloat(v, 64); err == nil && x == n {
					return true
				}
			}
		}
		return false
	}
	if eq := append(append([]string(nil), cond.Eq...), cond.Equals...); len(eq) > 0 && !in(eq) {
		return false
	}
	if neq := append(append([]string(nil), cond.Neq...), cond.NotEquals...); len(neq) > 0 && in(neq) {
		return false
	}
	cmp := func(bound *float64, ok func(float64, float64) bool) bool {
		return bound == nil || (numeric && ok(n, *bound))
	}
	gt := func(a, b float64) bool { return a > b }
	ge := func(a, b float64) bool { return a >= b }
	lt := func(a, b float64) bool { return a < b }
	le := func(a, b float64) bool { return a <= b }
	return cmp(cond.Gt, gt) && cmp(cond.GreaterThan, gt) && cmp(cond.Gte, ge) && cmp(cond.GreaterThanOrEqual, ge) &&
		cmp(cond.Lt, lt) && cmp(cond.LessThan, lt) && cmp(cond.Lte, le) && cmp(cond.LessThanOrEqual, le)
}

func gdSortFindings(fs []*world.Finding, s *gdSort) error {
	if s == nil || s.AttributeName == "" {
		return nil
	}
	get, ok := gdFields[s.AttributeName]
	if !ok {
		return Errf(400, "BadRequestException", "The request is rejected because the sortCriteria attributeName %q is not supported.", s.AttributeName)
	}
	desc := strings.EqualFold(s.OrderBy, "DESC")
	sort.SliceStable(fs, func(i, j int) bool {
		si, ni, num := get(fs[i])
		sj, nj, _ := get(fs[j])
		if desc {
			si, sj, ni, nj = sj, si, nj, ni
		}
		if num {
			return ni < nj
		}
		return si < sj
	})
	return nil
}

func gdListFindings(c *Call) (any, error) {
	d, err := gdDetector(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		FindingCriteria *struct {
			Criterion map[string]gdCondition `json:"criterion"`
		} `json:"findingCriteria"`
		SortCriteria *gdSort `json:"sortCriteria"`
		MaxResults   *int    `json:"maxResults"`
		NextToken    string  `json:"nextToken"`
	}
	if err := gdDecode(c, &in); err != nil {
		return nil, err
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, Errf(400, "BadRequestException", "The request is rejected because maxResults must be between 1 and 50.")
		}
		max = *in.MaxResults
	}
	var crit map[string]gdCondition
	if in.FindingCriteria != nil {
		crit = in.FindingCriteria.Criterion
	}
	fields := world.SortedKeys(crit)
	for _, f := range fields {
		if gdFields[f] == nil {
			return nil, Errf(400, "BadRequestException", "The request is rejected because the findingCriteria field %q is not supported by the simulator.", f)
		}
	}
	var matched []*world.Finding
	for _, f := range c.World.VisibleFindingsLocked(d.ID, c.Now) {
		ok := true
		for _, field := range fields {
			if !gdMatch(f, field, crit[field]) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, f)
		}
	}
	if err := gdSortFindings(matched, in.SortCriteria); err != nil {
		return nil, err
	}
	off := 0
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "gd:"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(raw), "gd:") {
			return nil, Errf(400, "BadRequestException", "The request is rejected because the nextToken is invalid.")
		}
		off = min(n, len(matched))
	}
	ids := []string{}
	end := min(off+max, len(matched))
	for _, f := range matched[off:end] {
		ids = append(ids, f.ID)
	}
	out := map[string]any{"findingIds": ids}
	if end < len(matched) {
		out["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte("gd:" + strconv.Itoa(end)))
	}
	return out, nil
}

func gdGetFindings(c *Call) (any, error) {
	d, err := gdDetector(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		FindingIds   []string `json:"findingIds"`
		SortCriteria *gdSort  `json:"sortCriteria"`
	}
	if err := gdDecode(c, &in); err != nil {
		return nil, err
	}
	if len(in.FindingIds) > 50 {
		return nil, Errf(400, "BadRequestException", "The request is rejected because findingIds has more than 50 items.")
	}
	want := map[string]bool{}
	for _, id := range in.FindingIds {
		want[id] = true
	}
	var fs []*world.Finding
	for _, f := range c.World.VisibleFindingsLocked(d.ID, c.Now) {
		if want[f.ID] {
			fs = append(fs, f)
		}
	}
	if err := gdSortFindings(fs, in.SortCriteria); err != nil {
		return nil, err
	}
	out := []any{}
	for _, f := range fs {
		out = append(out, gdRender(c.World, d, f))
	}
	return map[string]any{"findings": out}, nil
}

func gdArchive(c *Call, archive bool) (any, error) {
	d, err := gdDetector(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		FindingIds []string `json:"findingIds"`
	}
	if err := gdDecode(c, &in); err != nil {
		return nil, err
	}
	if len(in.FindingIds) == 0 {
		return nil, Errf(400, "BadRequestException", "The request is rejected because findingIds is empty.")
	}
	want := map[string]bool{}
	for _, id := range in.FindingIds {
		want[id] = true
	}
	for _, f := range c.World.VisibleFindingsLocked(d.ID, c.Now) {
		if want[f.ID] {
			f.Archived = archive
			f.UpdatedAt = c.Now
		}
	}
	return map[string]any{}, nil
}

// gdRender writes a finding as GuardDuty's JSON, resource details taken from
// the world as it is now.
func gdRender(w *world.World, d *awsworld.Detector, f *world.Finding) map[string]any {
	resource := map[string]any{"resourceType": f.ResourceType}
	switch f.ResourceType {
	case "Instance":
		resource["instanceDetails"] = gdInstanceDetails(w, f.ResourceID)
	case "AccessKey":
		ak := map[string]any{"accessKeyId": f.AccessKeyID}
		if s := awsworld.Of(w).Sessions.Lookup(f.AccessKeyID); s != nil {
			ak["userType"] = "AssumedRole"
			ak["userName"] = s.Role
			if r := awsworld.Of(w).Roles.Lookup(s.Role); r != nil {
				ak["principalId"] = r.ID + ":" + s.SessionName
			}
		} else if k := awsworld.Of(w).AccessKeys.Lookup(f.AccessKeyID); k != nil {
			ak["userType"] = "IAMUser"
			ak["userName"] = k.User
			if u := awsworld.Of(w).Users.Lookup(k.User); u != nil {
				ak["principalId"] = u.ID
			}
		}
		resource["accessKeyDetails"] = ak
	}
	action := map[string]any{}
	switch {
	case f.API != "":
		call := map[string]any{"api": f.API, "serviceName": f.APIService, "callerType": "Remote IP"}
		if f.RemoteIP != "" {
			call["remoteIpDetails"] = map[string]any{"ipAddressV4": f.RemoteIP}
		}
		action["actionType"] = "AWS_API_CALL"
		action["awsApiCallAction"] = call
	case f.Domain != "":
		action["actionType"] = "DNS_REQUEST"
		action["dnsRequestAction"] = map[string]any{"domain": f.Domain, "protocol": "UDP", "blocked": false}
	case f.RemoteIP != "":
		nc := map[string]any{"connectionDirection": "OUTBOUND", "protocol": "TCP", "blocked": false,
			"remoteIpDetails": map[string]any{"ipAddressV4": f.RemoteIP}}
		if f.RemotePort != 0 {
			nc["remotePortDetails"] = map[string]any{"port": f.RemotePort, "portName": "Unknown"}
		}
		action["actionType"] = "NETWORK_CONNECTION"
		action["networkConnectionAction"] = nc
	}
	role := "TARGET"
	if f.ResourceType == "AccessKey" {
		role = "ACTOR"
	}
	service := map[string]any{"serviceName": "guardduty", "detectorId": d.ID, "archived": f.Archived,
		"count": f.Count, "eventFirstSeen": gdTime(f.FirstSeen), "eventLastSeen": gdTime(f.LastSeen),
		"resourceRole": role}
	if len(action) > 0 {
		service["action"] = action
	}
	if f.Sample {
		service["additionalInfo"] = map[string]any{"type": "default", "value": `{"sample":true}`}
	}
	return map[string]any{
		"id": f.ID, "arn": fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s/finding/%s", f.Region, f.Account, d.ID, f.ID),
		"type": f.Type, "severity": f.Severity, "confidence": 8, "title": f.Title, "description": f.Description,
		"accountId": f.Account, "region": f.Region, "partition": "aws", "schemaVersion": "2.0",
		"createdAt": gdTime(f.CreatedAt), "updatedAt": gdTime(f.UpdatedAt),
		"resource": resource, "service": service,
	}
}

func gdInstanceDetails(w *world.World, id string) map[string]any {
	det := map[string]any{"instanceId": id}
	inst := w.Instances.Lookup(id)
	if inst == nil {
		return det
	}
	det["instanceType"] = inst.Type
	det["instanceState"] = inst.State
	det["availabilityZone"] = inst.AZ
	det["imageId"] = inst.ImageID
	if !inst.LaunchTime.IsZero() {
		det["launchTime"] = gdTime(inst.LaunchTime)
	}
	if inst.Platform != "" {
		det["platform"] = inst.Platform
	}
	nics := []any{}
	for _, eid := range inst.ENIs {
		e := w.ENIs.Lookup(eid)
		if e == nil {
			continue
		}
		groups := []any{}
		for _, gid := range e.Groups {
			g := map[string]any{"groupId": gid}
			if sg := awsworld.Of(w).SecurityGroups.Lookup(gid); sg != nil {
				g["groupName"] = sg.Name
			}
			groups = append(groups, g)
		}
		nic := map[string]any{"networkInterfaceId": e.ID, "privateIpAddress": e.PrivateIP, "subnetId": e.Subnet,
			"vpcId": e.VPC, "securityGroups": groups}
		if e.PublicIP != "" {
			nic["publicIp"] = e.PublicIP
		}
		nics = append(nics, nic)
	}
	det["networkInterfaces"] = nics
	for _, aid := range awsworld.Of(w).Associations.Keys() {
		if a := awsworld.Of(w).Associations.Lookup(aid); a.Instance == id && a.State == "associated" {
			p := map[string]any{"arn": a.ProfileARN}
			if prof := awsworld.Of(w).ProfileByARN(a.ProfileARN); prof != nil {
				p["id"] = prof.ID
			}
			det["iamInstanceProfile"] = p
		}
	}
	tags := []any{}
	for _, k := range world.SortedKeys(inst.Tags) {
		tags = append(tags, map[string]any{"key": k, "value": inst.Tags[k]})
	}
	det["tags"] = tags
	return det
}
