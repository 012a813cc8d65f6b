package awssim

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Trails: DescribeTrails, GetTrailStatus, StopLogging and StartLogging.
// StopLogging really stops the trail's delivery to its bucket (what SIEMs
// read, see logdelivery.go) from the instant of the call, and is itself
// audited and delivered, as CloudTrail does: attackers stop trails, and
// the StopLogging event is what gives them away. Event history
// (LookupEvents) does not depend on trails, in AWS and here.

func addTrailOps(ops map[string]*Op) {
	trail := func(c *Call) []string {
		var in struct{ Name string }
		_ = json.Unmarshal(c.Body, &in)
		if t := awsworld.Of(c.World).TrailByNameOrARN(c.Account(), in.Name); t != nil {
			return []string{t.ARN}
		}
		return []string{fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.Region, c.Account(), in.Name)}
	}
	ops["DescribeTrails"] = &Op{Handle: ctDescribeTrails}
	ops["GetTrailStatus"] = &Op{Resources: trail, Handle: ctGetTrailStatus}
	ops["StopLogging"] = &Op{Resources: trail, Handle: func(c *Call) (any, error) { return ctSetLogging(c, false) }}
	ops["StartLogging"] = &Op{Resources: trail, Handle: func(c *Call) (any, error) { return ctSetLogging(c, true) }}
}

type ctTrail struct {
	Name                       string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	HomeRegion                 string
	TrailARN                   string
	LogFileValidationEnabled   bool
	HasCustomEventSelectors    bool
	HasInsightSelectors        bool
	IsOrganizationTrail        bool
}

// ctDescribeTrails lists the trails of the account that apply in the
// caller's region: its own and, unless includeShadowTrails is false, the
// multi-region trails of other home regions.
func ctDescribeTrails(c *Call) (any, error) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	st := awsworld.Of(c.World)
	out := []ctTrail{}
	for _, name := range st.Trails.Keys() {
		t := st.Trails.Lookup(name)
		if t.Account != c.Account() || (t.HomeRegion != c.Region && !(t.MultiRegion && shadows)) {
			continue
		}
		if len(in.TrailNameList) > 0 && !ec2ContainsString(in.TrailNameList, t.Name) && !ec2ContainsString(in.TrailNameList, t.ARN) {
			continue
		}
		c.Touch("AWS::CloudTrail::Trail", t.ARN)
		out = append(out, ctTrail{Name: t.Name, S3BucketName: t.S3Bucket, S3KeyPrefix: t.S3KeyPrefix,
			IncludeGlobalServiceEvents: true, IsMultiRegionTrail: t.MultiRegion, HomeRegion: t.HomeRegion,
			TrailARN: t.ARN, LogFileValidationEnabled: true})
	}
	return map[string]any{"trailList": out}, nil
}

// ctTrailParam resolves the Name parameter (a name or an ARN).
func ctTrailParam(c *Call) (*awsworld.Trail, error) {
	var in struct{ Name string }
	if err := awsJSONDecode(c, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, Errf(400, "InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).")
	}
	t := awsworld.Of(c.World).TrailByNameOrARN(c.Account(), in.Name)
	if t == nil {
		return nil, Errf(400, "TrailNotFoundException", "Unknown trail: %s for the user: %s", in.Name, c.Account())
	}
	c.Touch("AWS::CloudTrail::Trail", t.ARN)
	c.Param("name", in.Name)
	return t, nil
}

func ctGetTrailStatus(c *Call) (any, error) {
	t, err := ctTrailParam(c)
	if err != nil {
		return nil, err
	}
	if b := c.World.Buckets.Lookup(t.S3Bucket); b != nil {
		deliverLogsLocked(c.World, b, c.Now) // brings LatestDeliveryTime up to now
	}
	out := map[string]any{"IsLogging": t.Logging}
	stamp := func(epochKey, textKey string, at time.Time) {
		if !at.IsZero() {
			out[epochKey] = epochSeconds(at)
			if textKey != "" {
				out[textKey] = at.UTC().Format("2006-01-02T15:04:05Z")
			}
		}
	}
	stamp("StartLoggingTime", "TimeLoggingStarted", t.StartedAt)
	stamp("StopLoggingTime", "TimeLoggingStopped", t.StoppedAt)
	stamp("LatestDeliveryTime", "LatestDeliveryAttemptTime", t.LatestDelivery)
	if !t.LatestDelivery.IsZero() {
		out["LatestDeliveryAttemptSucceeded"] = t.LatestDelivery.UTC().Format("2006-01-02T15:04:05Z")
	}
	return out, nil
}

func ctSetLogging(c *Call, on bool) (any, error) {
	t, err := ctTrailParam(c)
	if err != nil {
		return nil, err
	}
	if t.HomeRegion != c.Region {
		return nil, Errf(400, "InvalidHomeRegionException", "This operation must be called from the trail's home region (%s).", t.HomeRegion)
	}
	awsworld.Of(c.World).SetTrailLogging(t, on)
	return map[string]any{}, nil
}
