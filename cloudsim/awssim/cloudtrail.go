package awssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// CloudTrail serves LookupEvents (awsJson1.1) over the world's audit log:
// management events of the caller's account and region that have been
// delivered by now (the server stamps each call with a ~5 minute delivery
// lag), newest first. The responder's own calls and denied calls are there
// too, as in AWS.
//
// LookupEvents is rate limited to 2 requests per second per account and
// region in AWS; the model is a token bucket on modelled time, so a
// responder that polls in a tight loop is throttled exactly as it would be.

// cloudTrailTPS is LookupEvents' documented per-account, per-region limit.
const cloudTrailTPS = 2.0

// lookupRetention is how far back Event history reaches.
const lookupRetention = 90 * 24 * time.Hour

// tokenBucket is a rate limiter on modelled time; guarded by the world lock
// (handlers run with it held).
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take refills at rate per second up to burst and takes one token.
func (b *tokenBucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if now.After(b.last) {
		b.tokens += now.Sub(b.last).Seconds() * rate
		if b.tokens > burst {
			b.tokens = burst
		}
	}
	if now.After(b.last) || b.last.IsZero() {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func cloudtrailService() *Service {
	buckets := map[string]*tokenBucket{} // account/region -> limiter
	ops := map[string]*Op{
		"LookupEvents": {Handle: func(c *Call) (any, error) { return lookupEvents(c, buckets) }},
	}
	addTrailOps(ops)
	return &Service{Name: "cloudtrail", EventSource: "cloudtrail.amazonaws.com", proto: awsJSON{}, Ops: ops}
}

type lookupAttribute struct {
	AttributeKey   string
	AttributeValue string
}

type lookupEventsInput struct {
	LookupAttributes []lookupAttribute
	StartTime        *float64
	EndTime          *float64
	EventCategory    string
	MaxResults       *int
	NextToken        string
}

type ctResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

type ctEvent struct {
	EventId         string
	EventName       string
	ReadOnly        string
	AccessKeyId     string `json:",omitempty"`
	EventTime       float64
	EventSource     string
	Username        string `json:",omitempty"`
	Resources       []ctResource
	CloudTrailEvent string
}

type lookupEventsOutput struct {
	Events    []ctEvent
	NextToken string `json:",omitempty"`
}

// lookupKeys are the attribute keys LookupEvents accepts.
var lookupKeys = map[string]bool{"EventId": true, "EventName": true, "ReadOnly": true, "Username": true,
	"ResourceType": true, "ResourceName": true, "EventSource": true, "AccessKeyId": true}

// s3DataEvents are S3 object-level operations: data events are not part of
// Event history, so LookupEvents never returns them.
var s3DataEvents = map[string]bool{"GetObject": true, "PutObject": true, "HeadObject": true, "DeleteObject": true,
	"DeleteObjects": true, "CopyObject": true, "ListObjects": true, "ListObjectsV2": true, "ListObjectVersions": true,
	"GetObjectAcl": true, "PutObjectAcl": true, "GetObjectTagging": true, "PutObjectTagging": true,
	"CreateMultipartUpload": true, "UploadPart": true, "CompleteMultipartUpload": true, "AbortMultipartUpload": true,
	"GetObjectAttributes": true, "RestoreObject": true, "SelectObjectContent": true, "GetObjectRetention": true,
	"PutObjectRetention": true, "GetObjectLegalHold": true, "PutObjectLegalHold": true}

func lookupEvents(c *Call, buckets map[string]*tokenBucket) (any, error) {
	var in lookupEventsInput
	if len(c.Body) > 0 {
		if err := json.Unmarshal(c.Body, &in); err != nil {
			return nil, Errf(400, "SerializationException", "could not parse request body: %v", err)
		}
	}
	key := c.Account() + "/" + c.Region
	if buckets[key] == nil {
		buckets[key] = &tokenBucket{}
	}
	if !buckets[key].take(c.Now, cloudTrailTPS, cloudTrailTPS) {
		return nil, Errf(400, "ThrottlingException", "Rate exceeded")
	}
	if len(in.LookupAttributes) > 1 {
		return nil, Errf(400, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	var attr *lookupAttribute
	if len(in.LookupAttributes) == 1 {
		attr = &in.LookupAttributes[0]
		if !lookupKeys[attr.AttributeKey] {
			return nil, Errf(400, "InvalidLookupAttributesException", "Unsupported lookup attribute key: %s", attr.AttributeKey)
		}
		if attr.AttributeValue == "" {
			return nil, Errf(400, "InvalidLookupAttributesException", "Lookup attribute value for %s must not be empty.", attr.AttributeKey)
		}
		c.Param("lookupAttributes", attr.AttributeKey+"="+attr.AttributeValue)
	}
	if in.EventCategory != "" && in.EventCategory != "insight" {
		return nil, Errf(400, "InvalidEventCategoryException", "Event category %q is not valid; the only valid value is insight.", in.EventCategory)
	}
	max := 50
	if in.MaxResults != nil {
		max = *in.MaxResults
		if max < 1 || max > 50 {
			return nil, Errf(400, "InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
		}
	}
	end := c.Now
	if in.EndTime != nil {
		end = epochTime(*in.EndTime)
	}
	start := c.Now.Add(-lookupRetention)
	if in.StartTime != nil {
		start = epochTime(*in.StartTime)
	}
	if start.After(end) {
		return nil, Errf(400, "InvalidTimeRangeException", "Start time must be before end time.")
	}
	if start.Before(c.Now.Add(-lookupRetention)) {
		start = c.Now.Add(-lookupRetention)
	}
	fp := lookupFingerprint(attr, in.StartTime, in.EndTime)
	var cursor *ctCursor
	if in.NextToken != "" {
		cur, err := parseCTToken(in.NextToken, fp)
		if err != nil {
			return nil, err
		}
		cursor = cur
	}
	out := lookupEventsOutput{Events: []ctEvent{}}
	if in.EventCategory == "insight" {
		return out, nil // no Insights events are modelled
	}

	var evs []*world.AuditEvent
	for _, ev := range c.World.DeliveredAuditLocked("aws", c.Account(), c.Now) {
		if !lookupRegionMatches(ev, c.Region) || s3DataEvents[ev.Operation] {
			continue
		}
		if ev.Time.Before(start) || ev.Time.After(end) || !attrMatches(ev, attr) {
			continue
		}
		evs = append(evs, ev)
	}
	// Newest first; ties broken by id (event ids are unique) so that every
	// event has one position in the order and paging is exact.
	sort.SliceStable(evs, func(i, j int) bool { return ctBefore(evs[j], evs[i]) })
	var last *world.AuditEvent
	for _, ev := range evs {
		if cursor != nil && !ctBefore(ev, &world.AuditEvent{Time: cursor.t, ID: cursor.id}) {
			continue // at or before the cursor in CloudTrail's order: already returned
		}
		if len(out.Events) == max {
			// The token is the exact position of the last event returned,
			// its full-precision time and its id. The rendered EventTime is
			// whole seconds, so a token built from it would skip every
			// event of a busy second after the first page.
			out.NextToken = ctToken(last.Time, last.ID, fp)
			break
		}
		out.Events = append(out.Events, renderCTEvent(c.World, ev))
		last = ev
	}
	return out, nil
}

// ctBefore orders events by time, then id: the reverse of the order
// LookupEvents returns them in.
func ctBefore(a, b *world.AuditEvent) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.ID < b.ID
}

// lookupRegionMatches: Event history is per region; global services (IAM,
// STS) are recorded in us-east-1.
func lookupRegionMatches(ev *world.AuditEvent, region string) bool {
	if ev.Region == region {
		return true
	}
	global := ev.Service == "iam.amazonaws.com" || ev.Service == "sts.amazonaws.com"
	return global && region == "us-east-1"
}

func attrMatches(ev *world.AuditEvent, a *lookupAttribute) bool {
	if a == nil {
		return true
	}
	v := a.AttributeValue
	switch a.AttributeKey {
	case "EventId":
		return ev.ID == v
	case "EventName":
		return ev.Operation == v
	case "ReadOnly":
		return strconv.FormatBool(ev.ReadOnly) == strings.ToLower(v)
	case "Username":
		return ev.UserName == v
	case "AccessKeyId":
		return ev.AccessKeyID == v
	case "EventSource":
		return ev.Service == v
	case "ResourceName", "ResourceType":
		for _, r := range ev.Resources {
			if (a.AttributeKey == "ResourceName" && r.Name == v) || (a.AttributeKey == "ResourceType" && r.Type == v) {
				return true
			}
		}
	}
	return false
}

// epochTime converts awsJson epoch seconds (possibly fractional).
func epochTime(secs float64) time.Time {
	return time.UnixMilli(int64(secs * 1000)).UTC()
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

type ctCursor struct {
	t  time.Time
	id string
}

func lookupFingerprint(a *lookupAttribute, start, end *float64) string {
	h := fnv.New32a()
	if a != nil {
		fmt.Fprintf(h, "%s=%s", a.AttributeKey, a.AttributeValue)
	}
	if start != nil {
		fmt.Fprintf(h, "|s%v", *start)
	}
	if end != nil {
		fmt.Fprintf(h, "|e%v", *end)
	}
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// ctToken encodes a paging position as an opaque token: the last returned
// event's time to the nanosecond and its id, bound to the query (fp) that
// issued it.
func ctToken(t time.Time, id, fp string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("v2|%d|%s|%s", t.UnixNano(), id, fp)))
}

// parseCTToken reads a token back; anything that is not a token this query
// issued is InvalidNextTokenException, as CloudTrail answers.
func parseCTToken(tok, fp string) (*ctCursor, error) {
	bad := Errf(400, "InvalidNextTokenException", "Invalid NextToken: the token is malformed or was issued for different lookup parameters.")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != "v2" || parts[2] == "" || parts[3] != fp {
		return nil, bad
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, bad
	}
	return &ctCursor{t: time.Unix(0, ns).UTC(), id: parts[2]}, nil
}

func renderCTEvent(w *world.World, ev *world.AuditEvent) ctEvent {
	out := ctEvent{EventId: ev.ID, EventName: ev.Operation, ReadOnly: strconv.FormatBool(ev.ReadOnly),
		AccessKeyId: ev.AccessKeyID, EventTime: float64(ev.Time.Unix()), EventSource: ev.Service,
		Username: ev.UserName, Resources: []ctResource{}}
	for _, r := range ev.Resources {
		out.Resources = append(out.Resources, ctResource{ResourceType: r.Type, ResourceName: r.Name})
	}
	body, err := json.Marshal(cloudTrailRecord(w, ev))
	if err != nil {
		body = []byte("{}") // unreachable: the record holds only strings, bools and maps of strings
	}
	out.CloudTrailEvent = string(body)
	return out
}

// ctRecord is a CloudTrail log record (eventVersion 1.08); field order
// follows what CloudTrail writes.
type ctRecord struct {
	EventVersion       string            `json:"eventVersion"`
	UserIdentity       ctIdentity        `json:"userIdentity"`
	EventTime          string            `json:"eventTime"`
	EventSource        string            `json:"eventSource"`
	EventName          string            `json:"eventName"`
	AwsRegion          string            `json:"awsRegion"`
	SourceIPAddress    string            `json:"sourceIPAddress"`
	UserAgent          string            `json:"userAgent"`
	ErrorCode          string            `json:"errorCode,omitempty"`
	ErrorMessage       string            `json:"errorMessage,omitempty"`
	RequestParameters  map[string]string `json:"requestParameters"`
	ResponseElements   any               `json:"responseElements"`
	RequestID          string            `json:"requestID"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
	EventCategory      string            `json:"eventCategory"`
}

type ctIdentity struct {
	Type           string            `json:"type"`
	PrincipalID    string            `json:"principalId,omitempty"`
	ARN            string            `json:"arn,omitempty"`
	AccountID      string            `json:"accountId,omitempty"`
	AccessKeyID    string            `json:"accessKeyId,omitempty"`
	UserName       string            `json:"userName,omitempty"`
	SessionContext *ctSessionContext `json:"sessionContext,omitempty"`
	// EC2RoleDelivery marks credentials delivered by the instance metadata
	// service: what tells an analyst the caller used an instance role.
	EC2RoleDelivery string `json:"ec2RoleDelivery,omitempty"`
}

type ctSessionContext struct {
	SessionIssuer ctIssuer          `json:"sessionIssuer"`
	Attributes    map[string]string `json:"attributes"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

func cloudTrailRecord(w *world.World, ev *world.AuditEvent) ctRecord {
	id := ctIdentity{Type: ev.IdentityType, PrincipalID: ev.PrincipalID, ARN: ev.PrincipalARN,
		AccountID: ev.Account, AccessKeyID: ev.AccessKeyID}
	switch ev.IdentityType {
	case "IAMUser":
		id.UserName = ev.UserName
	case "AssumedRole":
		if s := awsworld.Of(w).Sessions.Lookup(ev.AccessKeyID); s != nil {
			if r := awsworld.Of(w).Roles.Lookup(s.Role); r != nil {
				id.SessionContext = &ctSessionContext{
					SessionIssuer: ctIssuer{Type: "Role", PrincipalID: r.ID, ARN: r.ARN, AccountID: r.Account, UserName: r.Name},
					Attributes: map[string]string{"creationDate": s.IssuedAt.UTC().Format(time.RFC3339),
						"mfaAuthenticated": "false"},
				}
			}
			if strings.HasPrefix(s.Source, "instance:") {
				id.EC2RoleDelivery = "2.0"
			}
		}
	case "", "Anonymous":
		id = ctIdentity{Type: "AWSAccount", PrincipalID: "", AccountID: "anonymous"}
	}
	rec := ctRecord{EventVersion: "1.08", UserIdentity: id, EventTime: ev.Time.UTC().Format(time.RFC3339),
		EventSource: ev.Service, EventName: ev.Operation, AwsRegion: ev.Region, SourceIPAddress: ev.SourceIP,
		UserAgent: ev.UserAgent, ErrorCode: ev.ErrorCode, ErrorMessage: ev.ErrorMessage,
		RequestParameters: ev.Params, RequestID: ev.RequestID, EventID: ev.ID, ReadOnly: ev.ReadOnly,
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: ev.Account, EventCategory: "Management"}
	return rec
}
