package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firedrill-ir/firedrill/providers"
)

// throttleRetries is how many extra times a throttled LookupEvents page is
// retried (after the SDK's own retries), each after a Sleeper back-off.
const throttleRetries = 5

// Query pages through LookupEvents. CloudTrail accepts exactly one lookup
// attribute per call, so the most selective filter is pushed down (access
// key, then resource, then user name, then event name) and the rest are
// applied here. Calls are paced to CloudTrail's 2 TPS per account and
// region on the Sleeper. Results are oldest first; with Max set, the newest
// Max matching events are kept.
func (a *Provider) QueryAudit(ctx context.Context, q providers.AuditQuery) ([]providers.AuditEvent, error) {
	in := &cloudtrail.LookupEventsInput{MaxResults: awssdk.Int32(50)}
	if !q.Start.IsZero() {
		in.StartTime = awssdk.Time(q.Start)
	}
	if !q.End.IsZero() {
		in.EndTime = awssdk.Time(q.End)
	}
	switch {
	case q.AccessKeyID != "":
		in.LookupAttributes = lookup(cttypes.LookupAttributeKeyAccessKeyId, q.AccessKeyID)
	case q.Resource != "":
		in.LookupAttributes = lookup(cttypes.LookupAttributeKeyResourceName, q.Resource)
	case q.Principal != "" && !strings.HasPrefix(q.Principal, "arn:"):
		in.LookupAttributes = lookup(cttypes.LookupAttributeKeyUsername, q.Principal)
	case q.Operation != "":
		in.LookupAttributes = lookup(cttypes.LookupAttributeKeyEventName, q.Operation)
	}
	clients := []*cloudtrail.Client{a.ct}
	if q.AllRegions {
		var err error
		if clients, err = a.regionalTrails(ctx); err != nil {
			return nil, err
		}
	}
	var out []providers.AuditEvent
	seen := map[string]bool{}
	for _, ct := range clients {
		got, err := a.lookupAll(ctx, ct, in, q)
		if err != nil {
			return nil, err
		}
		for _, ev := range got {
			// Global services' events show in us-east-1 only, but a
			// resource may be named in several regions' histories.
			if !seen[ev.ID] {
				seen[ev.ID] = true
				out = append(out, ev)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if q.Max > 0 && len(out) > q.Max {
		out = out[:q.Max]
	}
	return out, nil
}

// regionalTrails are CloudTrail clients for every enabled region: Event
// history is regional, and an attacker launches where the victim does not
// look.
func (a *Provider) regionalTrails(ctx context.Context) ([]*cloudtrail.Client, error) {
	regs, err := a.ec2.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, wrapErr("ec2:DescribeRegions", "", err)
	}
	names := []string{a.target.Region}
	for _, r := range regs.Regions {
		if n := awssdk.ToString(r.RegionName); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names[1:])
	out := make([]*cloudtrail.Client, len(names))
	for i, n := range names {
		if n == a.target.Region {
			out[i] = a.ct
			continue
		}
		out[i] = cloudtrail.NewFromConfig(a.cfg, func(o *cloudtrail.Options) { o.Region = n })
	}
	return out, nil
}

// lookupAll pages through one region's Event history.
func (a *Provider) lookupAll(ctx context.Context, ct *cloudtrail.Client, in0 *cloudtrail.LookupEventsInput, q providers.AuditQuery) ([]providers.AuditEvent, error) {
	in := *in0
	var out []providers.AuditEvent
	for page := 0; ; page++ {
		resp, err := a.lookupPage(ctx, ct, &in)
		if err != nil {
			return nil, fmt.Errorf("audit query page %d: %w", page+1, err)
		}
		for _, e := range resp.Events {
			ev := toAuditEvent(e)
			if matches(q, ev) {
				out = append(out, ev)
			}
		}
		if q.Max > 0 && len(out) >= q.Max {
			out = out[:q.Max]
			break
		}
		if resp.NextToken == nil || *resp.NextToken == "" {
			break
		}
		in.NextToken = resp.NextToken
	}
	// CloudTrail answers newest first; reverse, then order by time keeping
	// CloudTrail's own order among events of the same instant.
	slices.Reverse(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func lookup(k cttypes.LookupAttributeKey, v string) []cttypes.LookupAttribute {
	return []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: awssdk.String(v)}}
}

// lookupPage paces and performs one LookupEvents call, backing off on the
// Sleeper when CloudTrail still throttles after the SDK's retries.
func (a *Provider) lookupPage(ctx context.Context, ct *cloudtrail.Client, in *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
	p := a
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		if err := a.pace(ctx); err != nil {
			return nil, err
		}
		out, err := ct.LookupEvents(ctx, in)
		if err == nil {
			return out, nil
		}
		if !isKind(err, providers.ErrThrottled) || attempt >= throttleRetries {
			return nil, wrapErr("cloudtrail:LookupEvents", "", err)
		}
		p.log.Info("cloudtrail throttled; backing off", "wait", backoff)
		if err := p.sleeper.Sleep(ctx, backoff); err != nil {
			return nil, fmt.Errorf("backing off from cloudtrail throttling: %w", err)
		}
		backoff *= 2
	}
}

// pace keeps LookupEvents calls at least lookupInterval apart.
func (a *Provider) pace(ctx context.Context) error {
	p := a
	p.mu.Lock()
	now := p.sleeper.Now()
	wait := time.Duration(0)
	if !p.lastLookup.IsZero() {
		wait = p.lastLookup.Add(p.lookupInterval).Sub(now)
	}
	if wait < 0 {
		wait = 0
	}
	p.lastLookup = now.Add(wait)
	p.mu.Unlock()
	if wait > 0 {
		if err := p.sleeper.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("pacing cloudtrail lookups: %w", err)
		}
	}
	return nil
}

// trailRecord is the part of a CloudTrail record the neutral event carries.
type trailRecord struct {
	AwsRegion       string `json:"awsRegion"`
	SourceIPAddress string `json:"sourceIPAddress"`
	ErrorCode       string `json:"errorCode"`
	UserIdentity    struct {
		ARN         string `json:"arn"`
		AccessKeyID string `json:"accessKeyId"`
	} `json:"userIdentity"`
}

func toAuditEvent(e cttypes.Event) providers.AuditEvent {
	ev := providers.AuditEvent{
		ID: awssdk.ToString(e.EventId), Time: awssdk.ToTime(e.EventTime).UTC(), Service: awssdk.ToString(e.EventSource),
		Operation: awssdk.ToString(e.EventName), Principal: awssdk.ToString(e.Username),
		AccessKeyID: awssdk.ToString(e.AccessKeyId), ReadOnly: awssdk.ToString(e.ReadOnly) == "true",
		Raw: awssdk.ToString(e.CloudTrailEvent),
	}
	created := createdTypes[ev.Operation]
	for _, r := range e.Resources {
		name := awssdk.ToString(r.ResourceName)
		ev.Resources = append(ev.Resources, name)
		if kind, ok := created[awssdk.ToString(r.ResourceType)]; ok {
			ev.Created = append(ev.Created, providers.Ref(providers.CloudAWS, kind, name))
		}
	}
	var rec trailRecord
	if ev.Raw != "" && json.Unmarshal([]byte(ev.Raw), &rec) == nil {
		ev.SourceIP, ev.ErrorCode, ev.Region = rec.SourceIPAddress, rec.ErrorCode, rec.AwsRegion
		if rec.UserIdentity.ARN != "" {
			ev.Principal = rec.UserIdentity.ARN
		}
		if ev.AccessKeyID == "" {
			ev.AccessKeyID = rec.UserIdentity.AccessKeyID
		}
	}
	// arn:aws:sts::<account>:assumed-role/<role>/<session>: an EC2 role
	// session is named after its instance.
	if _, rest, ok := strings.Cut(ev.Principal, ":assumed-role/"); ok {
		if parts := strings.Split(rest, "/"); len(parts) == 2 {
			ev.Session = parts[1]
		}
	}
	return ev
}

// createdTypes say which CloudTrail resources each creating event made, by
// resource type (CreateAccessKey names the user and the key; only the key
// is new).
var createdTypes = map[string]map[string]providers.Kind{
	"CreateAccessKey":               {"AWS::IAM::AccessKey": providers.KindAccessKey},
	"RunInstances":                  {"AWS::EC2::Instance": providers.KindVM},
	"CreateUser":                    {"AWS::IAM::User": providers.KindPrincipal},
	"CreateRole":                    {"AWS::IAM::Role": providers.KindPrincipal},
	"AuthorizeSecurityGroupIngress": {"AWS::EC2::SecurityGroupRule": providers.KindNetworkRule},
}

// matches applies the filters CloudTrail could not.
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
	if q.Operation != "" && ev.Operation != q.Operation {
		return false
	}
	if q.Principal != "" && ev.Principal != q.Principal &&
		!strings.HasSuffix(ev.Principal, "/"+q.Principal) {
		return false
	}
	// Calls made as a role are its sessions' calls.
	if q.Role != "" && !strings.Contains(ev.Principal, ":assumed-role/"+q.Role+"/") {
		return false
	}
	if q.Resource != "" {
		found := false
		for _, r := range ev.Resources {
			if r == q.Resource || strings.HasSuffix(r, "/"+q.Resource) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
