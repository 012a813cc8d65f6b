package azuresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// ActivityLogPageSize is how many events one Activity Log page holds.
var ActivityLogPageSize = 100

var filterClauseRe = regexp.MustCompile(`(?i)^\s*([a-zA-Z]+)\s+(eq|ge|le|gt|lt)\s+'([^']*)'\s*$`)

type activityFilter struct {
	start, end                        time.Time
	resource, rg, provider, caller    string
	correlation, status, level, event string
}

var httpStatusNames = map[string]string{"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
	"409": "Conflict", "429": "TooManyRequests", "500": "InternalServerError", "503": "ServiceUnavailable"}

func parseActivityFilter(f string) (*activityFilter, *armError) {
	bad := func(format string, args ...any) *armError {
		return errf(http.StatusBadRequest, "BadRequest", format, args...)
	}
	if strings.TrimSpace(f) == "" {
		return nil, bad("The $filter query parameter is required and must include 'eventTimestamp ge'.")
	}
	out := &activityFilter{}
	for _, clause := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		m := filterClauseRe.FindStringSubmatch(clause)
		if m == nil {
			return nil, bad("The $filter clause '%s' is not supported: expected \"<field> <op> '<value>'\" joined with 'and'.", strings.TrimSpace(clause))
		}
		field, op, val := strings.ToLower(m[1]), strings.ToLower(m[2]), m[3]
		switch {
		case field == "eventtimestamp" && (op == "ge" || op == "gt" || op == "le" || op == "lt"):
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, bad("The eventTimestamp value '%s' is not a valid ISO 8601 date-time.", val)
			}
			if op == "ge" || op == "gt" {
				out.start = t
			} else {
				out.end = t
			}
		case op != "eq":
			return nil, bad("The operator '%s' is only supported on eventTimestamp.", op)
		case field == "resourceuri" || field == "resourceid":
			out.resource = val
		case field == "resourcegroupname":
			out.rg = val
		case field == "resourceprovider":
			out.provider = val
		case field == "caller":
			out.caller = val
		case field == "correlationid":
			out.correlation = val
		case field == "status":
			out.status = val
		case field == "levels":
			out.level = val
		case field == "eventchannels" || field == "category":
			out.event = val
		default:
			return nil, bad("The $filter field '%s' is not supported.", m[1])
		}
	}
	if out.start.IsZero() {
		return nil, bad("The $filter must include 'eventTimestamp ge <start>'.")
	}
	if out.end.IsZero() {
		out.end = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if out.end.Sub(out.start) > 90*24*time.Hour && out.end.Year() < 9999 {
		return nil, bad("The time range between eventTimestamp ge and le must not exceed 90 days.")
	}
	return out, nil
}

// activityLog lists delivered Activity Log events of the subscription that
// match the filter, newest first, paged with absolute nextLinks. Reads are
// not in the Activity Log (Azure records write, delete and action calls).
func (s *Server) activityLog(c *call) (*response, error) {
	f, aerr := parseActivityFilter(c.query.Get("$filter"))
	if aerr != nil {
		return nil, aerr
	}
	var match []*world.AuditEvent
	for _, ev := range s.World.DeliveredAuditLocked("azure", c.sub, c.now) {
		if ev.ReadOnly || ev.Time.Before(f.start) || ev.Time.After(f.end) {
			continue
		}
		status := "Succeeded"
		if ev.ErrorCode != "" {
			status = "Failed"
		}
		switch {
		case f.resource != "" && !strings.EqualFold(primaryResource(ev), f.resource):
			continue
		case f.rg != "" && !strings.EqualFold(resourceGroupOf(primaryResource(ev)), f.rg):
			continue
		case f.provider != "" && !strings.EqualFold(ev.Service, f.provider):
			continue
		case f.caller != "" && !strings.EqualFold(ev.PrincipalARN, f.caller):
			continue
		case f.correlation != "" && !strings.EqualFold(ev.RequestID, f.correlation):
			continue
		case f.status != "" && !strings.EqualFold(status, f.status):
			continue
		}
		match = append(match, ev)
	}
	skip := 0
	if v := c.query.Get("$skipToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, "BadRequest", "The $skipToken '%s' is invalid.", v)
		}
		skip = n
	}
	var page []any
	for i := len(match) - 1 - skip; i >= 0 && len(page) < ActivityLogPageSize; i-- {
		page = append(page, s.activityEventJSON(match[i]))
	}
	body := map[string]any{"value": nonNil(page)}
	if next := skip + len(page); next < len(match) {
		q := url.Values{}
		for k, v := range c.query {
			q[k] = v
		}
		q.Set("$skipToken", strconv.Itoa(next))
		body["nextLink"] = c.base + c.r.URL.Path + "?" + q.Encode()
	}
	c.param("filter", c.query.Get("$filter"))
	return ok(body), nil
}

func primaryResource(ev *world.AuditEvent) string {
	if len(ev.Resources) > 0 {
		return ev.Resources[0].Name
	}
	return "/subscriptions/" + ev.Account
}

func (s *Server) activityEventJSON(ev *world.AuditEvent) map[string]any {
	az := azureworld.Of(s.World)
	res := primaryResource(ev)
	status, level, subStatus, code := "Succeeded", "Informational", "OK", "OK"
	props := map[string]any{"entity": res, "message": ev.Operation, "hierarchy": az.Tenant + "/" + ev.Account}
	if ev.ErrorCode != "" {
		status, level = "Failed", "Error"
		code = ev.Params["statusCode"]
		subStatus = httpStatusNames[code]
		msg, _ := json.Marshal(map[string]any{"error": map[string]any{"code": ev.ErrorCode, "message": ev.ErrorMessage}})
		props["statusMessage"] = string(msg)
	}
	props["statusCode"] = subStatus
	for k, v := range ev.Params {
		switch k {
		case "httpMethod", "tokenIssuedAt", "tokenSource", "appId", "tenantId", "xms_mirid", "statusCode":
		default:
			props[k] = v
		}
	}
	claims := map[string]any{"appid": ev.Params["appId"], "oid": ev.PrincipalID, "uti": ev.AccessKeyID,
		"http://schemas.microsoft.com/identity/claims/objectidentifier": ev.PrincipalID,
		"http://schemas.microsoft.com/identity/claims/tenantid":         ev.Params["tenantId"],
		"iat": ev.Params["tokenIssuedAt"], "idtyp": "app", "ipaddr": ev.SourceIP}
	if v := ev.Params["xms_mirid"]; v != "" {
		claims["xms_mirid"] = v
	}
	ticks := ev.Time.UnixNano()/100 + 621355968000000000
	rtype := resourceTypeOf(res)
	return map[string]any{
		"authorization":        map[string]any{"action": ev.Operation, "scope": res},
		"caller":               ev.PrincipalARN,
		"channels":             "Operation",
		"claims":               claims,
		"correlationId":        ev.RequestID,
		"description":          "",
		"eventDataId":          ev.ID,
		"eventName":            map[string]any{"value": "EndRequest", "localizedValue": "End request"},
		"category":             map[string]any{"value": "Administrative", "localizedValue": "Administrative"},
		"eventTimestamp":       timeStr(ev.Time),
		"id":                   fmt.Sprintf("%s/events/%s/ticks/%d", res, ev.ID, ticks),
		"level":                level,
		"operationId":          ev.RequestID,
		"operationName":        map[string]any{"value": ev.Operation, "localizedValue": ev.Operation},
		"resourceGroupName":    resourceGroupOf(res),
		"resourceProviderName": map[string]any{"value": ev.Service, "localizedValue": ev.Service},
		"resourceType":         map[string]any{"value": rtype, "localizedValue": rtype},
		"resourceId":           res,
		"status":               map[string]any{"value": status, "localizedValue": status},
		"subStatus":            map[string]any{"value": subStatus, "localizedValue": subStatus},
		"submissionTimestamp":  timeStr(ev.DeliverAt),
		"subscriptionId":       ev.Account,
		"tenantId":             az.Tenant,
		"httpRequest":          map[string]any{"clientRequestId": ev.RequestID, "clientIpAddress": ev.SourceIP, "method": ev.Params["httpMethod"]},
		"properties":           props,
	}
}

// parseISODuration reads the durations Azure Monitor uses (PT1M, PT5M,
// PT1H, P1D).
func parseISODuration(s string) (time.Duration, bool) {
	m := regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`).FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || s == "PT" {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	return d, d > 0
}

// metrics serves VM "Percentage CPU" from the world's per-minute samples.
func (s *Server) metrics(c *call) (*response, error) {
	scope := c.scope
	vm := azureworld.Of(s.World).VM(scope)
	if vm == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' was not found.", scope)
	}
	inst := s.World.Instances.Lookup(vm.ID)
	names := c.query.Get("metricnames")
	if names == "" {
		names = "Percentage CPU"
	}
	interval := time.Minute
	if v := c.query.Get("interval"); v != "" {
		d, ok := parseISODuration(v)
		if !ok || d < time.Minute {
			return nil, errf(http.StatusBadRequest, "BadRequest", "Invalid interval '%s'.", v)
		}
		interval = d
	}
	end := c.now.Truncate(time.Minute)
	start := end.Add(-time.Hour)
	if ts := c.query.Get("timespan"); ts != "" {
		a, b, found := strings.Cut(ts, "/")
		t1, err1 := time.Parse(time.RFC3339Nano, a)
		t2, err2 := time.Parse(time.RFC3339Nano, b)
		if !found || err1 != nil || err2 != nil || !t1.Before(t2) {
			return nil, errf(http.StatusBadRequest, "BadRequest", "Invalid timespan '%s': expected <start>/<end> in ISO 8601.", ts)
		}
		start, end = t1, t2
	}
	if end.Sub(start)/interval > 1440 {
		return nil, errf(http.StatusBadRequest, "BadRequest", "The timespan and interval would return more than 1440 points.")
	}
	aggs := strings.Split(strings.ToLower(c.query.Get("aggregation")), ",")
	if c.query.Get("aggregation") == "" {
		aggs = []string{"average"}
	}
	var values []any
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "Percentage CPU") {
			return nil, errf(http.StatusBadRequest, "BadRequest",
				"Failed to find metric configuration for provider: Microsoft.Compute, resource Type: virtualMachines, metric: %s. The simulator models 'Percentage CPU'.", name)
		}
		var data []any
		for t := start.Truncate(interval); t.Before(end); t = t.Add(interval) {
			pt := map[string]any{"timeStamp": t.UTC().Format(time.RFC3339)}
			if st, ok := s.World.CPUStatsLocked(inst, t, interval); ok && st.SampleCount > 0 {
				for _, a := range aggs {
					switch strings.TrimSpace(a) {
					case "average":
						pt["average"] = st.Average
					case "maximum":
						pt["maximum"] = st.Maximum
					case "minimum":
						pt["minimum"] = st.Minimum
					case "total":
						pt["total"] = st.Sum
					case "count":
						pt["count"] = st.SampleCount
					}
				}
			}
			data = append(data, pt)
		}
		values = append(values, map[string]any{"id": vm.ID + "/providers/Microsoft.Insights/metrics/Percentage CPU",
			"type": "Microsoft.Insights/metrics", "name": map[string]any{"value": "Percentage CPU", "localizedValue": "Percentage CPU"},
			"displayDescription": "The percentage of allocated compute units that are currently in use by the Virtual Machine(s)",
			"unit":               "Percent", "errorCode": "Success",
			"timeseries": []any{map[string]any{"metadatavalues": []any{}, "data": nonNil(data)}}})
	}
	return ok(map[string]any{"cost": len(values) * 60, "timespan": start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339),
		"interval": isoDuration(interval), "namespace": "Microsoft.Compute/virtualMachines", "resourceregion": vm.Location, "value": values}), nil
}

func isoDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("P%dD", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("PT%dH", d/time.Hour)
	}
	return fmt.Sprintf("PT%dM", d/time.Minute)
}

// AzureMetricNamespace is the Alarm.Namespace of Azure VM metric alerts.
const AzureMetricNamespace = "Microsoft.Compute/virtualMachines"

// metricAlerts lists the subscription's metric alert rules (world Alarms in
// the Azure VM namespace).
func (s *Server) metricAlerts(c *call) (*response, error) {
	var out []any
	for _, a := range s.World.Alarms {
		if a.Account != c.sub || a.Namespace != AzureMetricNamespace {
			continue
		}
		vm := a.Dimensions["ResourceId"]
		op := map[string]string{"GreaterThanThreshold": "GreaterThan", "GreaterThanOrEqualToThreshold": "GreaterThanOrEqual",
			"LessThanThreshold": "LessThan", "LessThanOrEqualToThreshold": "LessThanOrEqual"}[a.Comparison]
		if op == "" {
			op = "GreaterThan"
		}
		window := time.Duration(max(a.EvaluationPeriods, 1)) * a.Period
		out = append(out, map[string]any{"id": a.ARN, "name": a.Name, "type": "Microsoft.Insights/metricAlerts", "location": "global",
			"tags": map[string]string{}, "properties": map[string]any{
				"description": a.Description, "severity": 2, "enabled": true, "scopes": []string{vm},
				"evaluationFrequency": "PT1M", "windowSize": isoDuration(window), "autoMitigate": true,
				"targetResourceType": AzureMetricNamespace, "targetResourceRegion": a.Region,
				"criteria": map[string]any{"odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
					"allOf": []any{map[string]any{"criterionType": "StaticThresholdCriterion", "name": "cpu", "metricName": a.Metric,
						"metricNamespace": AzureMetricNamespace, "operator": op, "threshold": a.Threshold,
						"timeAggregation": orStr(a.Statistic, "Average")}}}}})
	}
	return ok(map[string]any{"value": nonNil(out)}), nil
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// securityAlerts lists Defender for Cloud alerts visible now, newest first.
func (s *Server) securityAlerts(c *call) (*response, error) {
	fs := s.World.VisibleFindingsLocked(azureworld.DefenderDetector(c.sub), c.now)
	var out []any
	for i := len(fs) - 1; i >= 0; i-- {
		out = append(out, alertJSON(fs[i], c.sub))
	}
	return ok(map[string]any{"value": nonNil(out)}), nil
}

func severityName(v float64) string {
	switch {
	case v >= 7:
		return "High"
	case v >= 4:
		return "Medium"
	case v >= 2:
		return "Low"
	}
	return "Informational"
}

func alertJSON(f *world.Finding, sub string) map[string]any {
	rg := resourceGroupOf(f.ResourceID)
	id := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Security/locations/%s/alerts/%s", sub, rg, f.Region, f.ID)
	entities := []any{map[string]any{"$id": "1", "type": "azure-resource", "resourceId": f.ResourceID}}
	if f.RemoteIP != "" {
		entities = append(entities, map[string]any{"$id": "2", "type": "ip", "address": f.RemoteIP})
	}
	if f.Domain != "" {
		entities = append(entities, map[string]any{"$id": "3", "type": "dns", "domainName": f.Domain})
	}
	ext := map[string]any{"resourceType": "Virtual Machine", "killChainIntent": "Execution"}
	if f.RemoteIP != "" {
		ext["Remote IP"] = f.RemoteIP
	}
	if f.AccessKeyID != "" {
		ext["Token id"] = f.AccessKeyID
		ext["killChainIntent"] = "CredentialAccess"
	}
	if f.PrincipalARN != "" {
		ext["Principal object id"] = f.PrincipalARN
	}
	return map[string]any{"id": id, "name": f.ID, "type": "Microsoft.Security/Locations/alerts", "properties": map[string]any{
		"alertType": f.Type, "systemAlertId": f.ID, "productComponentName": "Servers", "alertDisplayName": f.Title,
		"description": f.Description, "severity": severityName(f.Severity), "intent": ext["killChainIntent"],
		"startTimeUtc": timeStr(f.FirstSeen), "endTimeUtc": timeStr(f.LastSeen), "timeGeneratedUtc": timeStr(f.CreatedAt),
		"processingEndTimeUtc": timeStr(f.UpdatedAt), "vendorName": "Microsoft", "status": "Active", "isIncident": false,
		"productName": "Microsoft Defender for Cloud", "compromisedEntity": lastSeg(f.ResourceID),
		"resourceIdentifiers": []any{map[string]any{"type": "AzureResource", "azureResourceId": f.ResourceID}},
		"remediationSteps":    []string{"Isolate the machine, capture memory and disks, and investigate the process tree."},
		"alertUri":            "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/alertId/" + f.ID,
		"correlationKey":      f.Type + "|" + f.ResourceID, "entities": entities, "extendedProperties": ext,
	}}
}
