package awssim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// autoscalingService serves the Auto Scaling calls a responder uses to keep
// a compromised instance from being scaled in (awsQuery). Scale-in itself is
// a world controller (world.ScheduleScaleInLocked).
func autoscalingService() *Service {
	ms := time.Millisecond
	return &Service{Name: "autoscaling", EventSource: "autoscaling.amazonaws.com",
		proto: awsQuery{xmlns: "http://autoscaling.amazonaws.com/doc/2011-01-01/"},
		Ops: map[string]*Op{
			"DescribeAutoScalingGroups":    {Latency: 130 * ms, Handle: asDescribeGroups},
			"DescribeAutoScalingInstances": {Latency: 110 * ms, Handle: asDescribeInstances},
			"SetInstanceProtection":        {Latency: 170 * ms, Resources: asGroupARN, Handle: asSetInstanceProtection},
			"EnterStandby":                 {Latency: 240 * ms, Resources: asGroupARN, Handle: asEnterStandby},
			"DetachInstances":              {Latency: 260 * ms, Resources: asGroupARN, Handle: asDetachInstances},
		}}
}

func asValidation(format string, args ...any) *APIError {
	return Errf(400, "ValidationError", format, args...)
}

// asGroupARN scopes authorization to the named group's ARN.
func asGroupARN(c *Call) []string {
	if g := c.World.ASGs[c.Form.Get("AutoScalingGroupName")]; g != nil {
		return []string{g.ARN}
	}
	return nil
}

// asLookupGroup finds a group of the caller's account and region.
func asLookupGroup(c *Call) (*world.ASG, error) {
	name := c.Form.Get("AutoScalingGroupName")
	if name == "" {
		return nil, asValidation("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	}
	g := c.World.ASGs[name]
	if g == nil || g.Account != c.Account() || g.Region != c.Region {
		return nil, asValidation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	c.Touch("AWS::AutoScaling::AutoScalingGroup", name)
	return g, nil
}

// asPage applies MaxRecords / NextToken (default and maximum page sizes as
// in Auto Scaling).
func asPage(c *Call, total, def, maxRecords int) (start, end int, next string, err error) {
	if tok := c.Form.Get("NextToken"); tok != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(tok)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "fd1:"))
		if derr != nil || perr != nil || !strings.HasPrefix(string(raw), "fd1:") || n < 0 {
			return 0, 0, "", Errf(400, "InvalidNextToken", "The token '%s' is invalid.", tok)
		}
		start = min(n, total)
	}
	size, err := c.Form.Int("MaxRecords", def)
	if err != nil {
		return 0, 0, "", asValidation("MaxRecords must be an integer")
	}
	if size < 1 || size > maxRecords {
		return 0, 0, "", asValidation("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to %d", size, maxRecords)
	}
	end = min(start+size, total)
	if end < total {
		next = base64.RawURLEncoding.EncodeToString([]byte("fd1:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func asMemberXML(c *Call, g *world.ASG, m *world.ASGInstance, withGroup bool) *X {
	typ := g.InstanceType
	if inst := c.World.Instances[m.InstanceID]; inst != nil {
		typ = inst.Type
	}
	var group *X
	if withGroup {
		group = T("AutoScalingGroupName", g.Name)
	}
	health := m.HealthStatus
	if health == "" {
		health = "Healthy"
	}
	if withGroup {
		health = strings.ToUpper(health) // DescribeAutoScalingInstances says "HEALTHY"
	}
	return E("member", T("InstanceId", m.InstanceID), TO("InstanceType", typ), group,
		T("AvailabilityZone", m.AZ), T("LifecycleState", m.LifecycleState), T("HealthStatus", health),
		T("ProtectedFromScaleIn", m.Protected))
}

func asDescribeGroups(c *Call) (any, error) {
	names := c.Form.List("AutoScalingGroupNames")
	var groups []*world.ASG
	for _, n := range world.SortedKeys(c.World.ASGs) {
		g := c.World.ASGs[n]
		if g.Account != c.Account() || g.Region != c.Region {
			continue
		}
		if len(names) > 0 && !ec2ContainsString(names, n) {
			continue
		}
		groups = append(groups, g)
	}
	start, end, next, err := asPage(c, len(groups), 50, 100)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, g := range groups[start:end] {
		var members, azs, tags []*X
		seenAZ := map[string]bool{}
		for _, m := range g.Members {
			members = append(members, asMemberXML(c, g, m, false))
			if m.AZ != "" && !seenAZ[m.AZ] {
				seenAZ[m.AZ] = true
				azs = append(azs, T("member", m.AZ))
			}
		}
		for _, k := range world.SortedKeys(g.Tags) {
			tags = append(tags, E("member", T("ResourceId", g.Name), T("ResourceType", "auto-scaling-group"),
				T("Key", k), T("Value", g.Tags[k]), T("PropagateAtLaunch", true)))
		}
		var lt *X
		if g.LaunchTemplate != "" {
			lt = E("LaunchTemplate", T("LaunchTemplateName", g.LaunchTemplate), T("Version", "$Latest"))
		}
		items = append(items, E("member",
			T("AutoScalingGroupName", g.Name), T("AutoScalingGroupARN", g.ARN), lt,
			T("MinSize", g.Min), T("MaxSize", g.Max), T("DesiredCapacity", g.Desired),
			T("DefaultCooldown", 300), L("AvailabilityZones", azs), L("LoadBalancerNames", nil),
			L("TargetGroupARNs", nil), T("HealthCheckType", "EC2"), T("HealthCheckGracePeriod", 300),
			L("Instances", members), T("CreatedTime", g.CreatedTime), L("SuspendedProcesses", nil),
			TO("VPCZoneIdentifier", strings.Join(g.Subnets, ",")), L("EnabledMetrics", nil),
			L("Tags", tags), L("TerminationPolicies", []*X{T("member", "Default")}),
			T("NewInstancesProtectedFromScaleIn", false),
			T("ServiceLinkedRoleARN", fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", g.Account))))
	}
	return []*X{L("AutoScalingGroups", items), TO("NextToken", next)}, nil
}

func asDescribeInstances(c *Call) (any, error) {
	ids := c.Form.List("InstanceIds")
	type row struct {
		g *world.ASG
		m *world.ASGInstance
	}
	var rows []row
	for _, n := range world.SortedKeys(c.World.ASGs) {
		g := c.World.ASGs[n]
		if g.Account != c.Account() || g.Region != c.Region {
			continue
		}
		for _, m := range g.Members {
			if len(ids) == 0 || ec2ContainsString(ids, m.InstanceID) {
				rows = append(rows, row{g, m})
			}
		}
	}
	start, end, next, err := asPage(c, len(rows), 50, 50)
	if err != nil {
		return nil, err
	}
	var items []*X
	for _, r := range rows[start:end] {
		c.Touch("AWS::EC2::Instance", r.m.InstanceID)
		items = append(items, asMemberXML(c, r.g, r.m, true))
	}
	return []*X{L("AutoScalingInstances", items), TO("NextToken", next)}, nil
}

func asInstanceIDs(c *Call) ([]string, error) {
	ids := c.Form.List("InstanceIds")
	if len(ids) == 0 {
		return nil, asValidation("1 validation error detected: Value null at 'instanceIds' failed to satisfy constraint: Member must not be null")
	}
	for _, id := range ids {
		c.Touch("AWS::EC2::Instance", id)
	}
	return ids, nil
}

// asWorldError answers a world failure as Auto Scaling's ValidationError.
func asWorldError(err error) error {
	if ce, ok := world.ComputeErrorOf(err); ok {
		return asValidation("%s", ce.Msg)
	}
	return err
}

func asSetInstanceProtection(c *Call) (any, error) {
	g, err := asLookupGroup(c)
	if err != nil {
		return nil, err
	}
	ids, err := asInstanceIDs(c)
	if err != nil {
		return nil, err
	}
	protect, ok := c.Form.Bool("ProtectedFromScaleIn")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'protectedFromScaleIn' failed to satisfy constraint: Member must not be null")
	}
	if err := c.World.SetProtectionLocked(g.Name, ids, protect); err != nil {
		return nil, asWorldError(err)
	}
	c.Param("protectedFromScaleIn", strconv.FormatBool(protect))
	return nil, nil
}

// asActivities renders one scaling activity per instance, as EnterStandby and
// DetachInstances answer.
func asActivities(c *Call, g *world.ASG, ids []string, desc, what string, decrement bool) []*X {
	var items []*X
	for _, id := range ids {
		aid := c.World.UUIDLocked()
		cause := fmt.Sprintf("At %s instance %s was %s in response to a user request", c.Now.UTC().Format(time.RFC3339), id, what)
		if decrement {
			cause += fmt.Sprintf(", shrinking the capacity from %d to %d", g.Desired+len(ids), g.Desired)
		}
		items = append(items, E("member", T("ActivityId", aid), T("AutoScalingGroupName", g.Name),
			T("Description", desc+id),
			T("Cause", cause+"."), T("StartTime", c.Now), T("StatusCode", "InProgress"), T("Progress", 50),
			T("Details", `{"Subnet ID":"","Availability Zone":""}`)))
	}
	return items
}

func asEnterStandby(c *Call) (any, error) {
	g, err := asLookupGroup(c)
	if err != nil {
		return nil, err
	}
	ids, err := asInstanceIDs(c)
	if err != nil {
		return nil, err
	}
	dec, ok := c.Form.Bool("ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	if err := c.World.EnterStandbyLocked(g.Name, ids, dec); err != nil {
		return nil, asWorldError(err)
	}
	return []*X{L("Activities", asActivities(c, g, ids, "Moving EC2 instance to Standby: ", "moved to standby", dec))}, nil
}

func asDetachInstances(c *Call) (any, error) {
	g, err := asLookupGroup(c)
	if err != nil {
		return nil, err
	}
	ids, err := asInstanceIDs(c)
	if err != nil {
		return nil, err
	}
	dec, ok := c.Form.Bool("ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	if err := c.World.DetachFromASGLocked(g.Name, ids, dec); err != nil {
		return nil, asWorldError(err)
	}
	return []*X{L("Activities", asActivities(c, g, ids, "Detaching EC2 instance: ", "detached", dec))}, nil
}
