package awssim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// autoscalingService serves the Auto Scaling calls a responder uses to keep
// a compromised instance from being scaled in, and those that set up a
// group's health checks and termination policies (awsQuery). Scale-in and
// health-check replacement are world controllers (world/asg.go,
// world/asg_health.go).
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
			"AttachInstances":              {Latency: 280 * ms, Resources: asGroupARN, Handle: asAttachInstances},
			"CreateAutoScalingGroup":       {Latency: 420 * ms, Handle: asCreateGroup},
			"UpdateAutoScalingGroup":       {Latency: 300 * ms, Resources: asGroupARN, Handle: asUpdateGroup},
			"SetInstanceHealth":            {Latency: 150 * ms, Resources: asInstanceGroupARN, Handle: asSetInstanceHealth},
		}}
}

func asValidation(format string, args ...any) *APIError {
	return Errf(400, "ValidationError", format, args...)
}

// asGroupARN scopes authorization to the named group's ARN.
func asGroupARN(c *Call) []string {
	if g := awsworld.Of(c.World).ASGs.Lookup(c.Form.Get("AutoScalingGroupName")); g != nil {
		return []string{g.ARN}
	}
	return nil
}

// asInstanceGroupARN scopes authorization to the group of InstanceId.
func asInstanceGroupARN(c *Call) []string {
	if g, _ := awsworld.Of(c.World).ASGMember(c.Form.Get("InstanceId")); g != nil {
		return []string{g.ARN}
	}
	return nil
}

// asLookupGroup finds a group of the caller's account and region.
func asLookupGroup(c *Call) (*awsworld.ASG, error) {
	name := c.Form.Get("AutoScalingGroupName")
	if name == "" {
		return nil, asValidation("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	}
	g := awsworld.Of(c.World).ASGs.Lookup(name)
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

func asMemberXML(c *Call, g *awsworld.ASG, m *awsworld.ASGInstance, withGroup bool) *X {
	typ := g.InstanceType
	if inst := c.World.Instances.Lookup(m.InstanceID); inst != nil {
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
	var groups []*awsworld.ASG
	for _, n := range awsworld.Of(c.World).ASGs.Keys() {
		g := awsworld.Of(c.World).ASGs.Lookup(n)
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
		for _, sn := range g.Subnets {
			if s := c.World.Subnets.Lookup(sn); s != nil && !seenAZ[s.AZ] {
				seenAZ[s.AZ] = true
				azs = append(azs, T("member", s.AZ))
			}
		}
		var lt *X
		if g.LaunchTemplate != "" {
			lt = E("LaunchTemplate", T("LaunchTemplateName", g.LaunchTemplate), T("Version", "$Latest"))
		}
		items = append(items, E("member",
			T("AutoScalingGroupName", g.Name), T("AutoScalingGroupARN", g.ARN), lt,
			T("MinSize", g.Min), T("MaxSize", g.Max), T("DesiredCapacity", g.Desired),
			T("DefaultCooldown", 300), L("AvailabilityZones", azs), asMembersXML("LoadBalancerNames", g.LoadBalancerNames),
			asMembersXML("TargetGroupARNs", g.TargetGroupARNs), T("HealthCheckType", g.HealthCheckType),
			T("HealthCheckGracePeriod", int(g.HealthCheckGracePeriod/time.Second)),
			L("Instances", members), T("CreatedTime", g.CreatedTime), L("SuspendedProcesses", nil),
			TO("VPCZoneIdentifier", strings.Join(g.Subnets, ",")), L("EnabledMetrics", nil),
			L("Tags", tags), asMembersXML("TerminationPolicies", g.TerminationPolicies),
			T("NewInstancesProtectedFromScaleIn", g.NewInstancesProtected),
			T("ServiceLinkedRoleARN", fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", g.Account))))
	}
	return []*X{L("AutoScalingGroups", items), TO("NextToken", next)}, nil
}

func asDescribeInstances(c *Call) (any, error) {
	ids := c.Form.List("InstanceIds")
	type row struct {
		g *awsworld.ASG
		m *awsworld.ASGInstance
	}
	var rows []row
	for _, n := range awsworld.Of(c.World).ASGs.Keys() {
		g := awsworld.Of(c.World).ASGs.Lookup(n)
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

// asGroupInstances reads AutoScalingGroupName and InstanceIds, the
// parameters of the calls that act on members.
func asGroupInstances(c *Call) (*awsworld.ASG, []string, error) {
	g, err := asLookupGroup(c)
	if err != nil {
		return nil, nil, err
	}
	ids, err := asInstanceIDs(c)
	if err != nil {
		return nil, nil, err
	}
	return g, ids, nil
}

// asWorldError answers a world failure as Auto Scaling's ValidationError.
func asWorldError(err error) error {
	if ce, ok := world.ComputeErrorOf(err); ok {
		return asValidation("%s", ce.Msg)
	}
	return err
}

func asSetInstanceProtection(c *Call) (any, error) {
	g, ids, err := asGroupInstances(c)
	if err != nil {
		return nil, err
	}
	protect, ok := c.Form.Bool("ProtectedFromScaleIn")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'protectedFromScaleIn' failed to satisfy constraint: Member must not be null")
	}
	if err := awsworld.Of(c.World).SetProtection(g.Name, ids, protect); err != nil {
		return nil, asWorldError(err)
	}
	c.Param("protectedFromScaleIn", strconv.FormatBool(protect))
	return nil, nil
}

// asActivities renders one scaling activity per instance, as EnterStandby and
// DetachInstances answer.
func asActivities(c *Call, g *awsworld.ASG, ids []string, desc, what string, decrement bool) []*X {
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
	g, ids, err := asGroupInstances(c)
	if err != nil {
		return nil, err
	}
	dec, ok := c.Form.Bool("ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	if err := awsworld.Of(c.World).EnterStandby(g.Name, ids, dec); err != nil {
		return nil, asWorldError(err)
	}
	return []*X{L("Activities", asActivities(c, g, ids, "Moving EC2 instance to Standby: ", "moved to standby", dec))}, nil
}

func asDetachInstances(c *Call) (any, error) {
	g, ids, err := asGroupInstances(c)
	if err != nil {
		return nil, err
	}
	dec, ok := c.Form.Bool("ShouldDecrementDesiredCapacity")
	if !ok {
		return nil, asValidation("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	if err := awsworld.Of(c.World).DetachFromASG(g.Name, ids, dec); err != nil {
		return nil, asWorldError(err)
	}
	return []*X{L("Activities", asActivities(c, g, ids, "Detaching EC2 instance: ", "detached", dec))}, nil
}

// asMembersXML renders a list of strings as awsQuery members.
func asMembersXML(name string, values []string) *X {
	items := make([]*X, 0, len(values))
	for _, v := range values {
		items = append(items, T("member", v))
	}
	return L(name, items)
}

func asAttachInstances(c *Call) (any, error) {
	g, ids, err := asGroupInstances(c)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if inst := c.World.Instances.Lookup(id); inst == nil || inst.Account != c.Account() || inst.Region != c.Region {
			return nil, asValidation("Instance Id not found - No instance(s) found with id: %s", id)
		}
	}
	if err := awsworld.Of(c.World).AttachInstances(g.Name, ids); err != nil {
		return nil, asWorldError(err)
	}
	return nil, nil
}

// asSettings reads the group settings Create and UpdateAutoScalingGroup
// share. HealthCheckGracePeriod is in seconds.
func asSettings(c *Call) (awsworld.ASGSettings, error) {
	var s awsworld.ASGSettings
	intParam := func(key string) (*int, error) {
		if !c.Form.Has(key) {
			return nil, nil
		}
		n, err := c.Form.Int(key, 0)
		if err != nil {
			return nil, asValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", c.Form.Get(key), lowerFirst(key))
		}
		return &n, nil
	}
	var err error
	if s.Min, err = intParam("MinSize"); err != nil {
		return s, err
	}
	if s.Max, err = intParam("MaxSize"); err != nil {
		return s, err
	}
	if s.Desired, err = intParam("DesiredCapacity"); err != nil {
		return s, err
	}
	grace, err := intParam("HealthCheckGracePeriod")
	if err != nil {
		return s, err
	}
	if grace != nil {
		d := time.Duration(*grace) * time.Second
		s.HealthCheckGracePeriod = &d
	}
	if v := c.Form.Get("HealthCheckType"); v != "" {
		s.HealthCheckType = &v
	}
	if c.Form.Has("TerminationPolicies") || len(c.Form.List("TerminationPolicies")) > 0 {
		s.TerminationPolicies = append([]string{}, c.Form.List("TerminationPolicies")...)
	}
	if v, ok := c.Form.Bool("NewInstancesProtectedFromScaleIn"); ok {
		s.NewInstancesProtected = &v
	}
	lt := c.Form.Struct("LaunchTemplate")
	if name := lt.Get("LaunchTemplateName") + lt.Get("LaunchTemplateId"); name != "" {
		s.LaunchTemplate = &name
	} else if name := c.Form.Get("LaunchConfigurationName"); name != "" {
		s.LaunchTemplate = &name
	}
	if z := c.Form.Get("VPCZoneIdentifier"); z != "" {
		for _, sn := range strings.Split(z, ",") {
			sn = strings.TrimSpace(sn)
			sub := c.World.Subnets.Lookup(sn)
			if sub == nil {
				return s, asValidation("The subnet ID '%s' does not exist", sn)
			}
			s.Subnets = append(s.Subnets, sn)
		}
	}
	return s, nil
}

// asCreateGroup serves CreateAutoScalingGroup. The simulator has no launch
// templates: a group created from InstanceId launches copies of that
// instance; one created from a launch template or configuration name
// launches default instances (image and type defaults, the subnet's VPC
// default group) into its VPCZoneIdentifier subnets. Without either, AWS
// refuses the call, and so does the simulator.
func asCreateGroup(c *Call) (any, error) {
	name := c.Form.Get("AutoScalingGroupName")
	if name == "" {
		return nil, asValidation("1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	}
	s, err := asSettings(c)
	if err != nil {
		return nil, err
	}
	if s.Min == nil || s.Max == nil {
		return nil, asValidation("1 validation error detected: Value null at 'minSize' or 'maxSize' failed to satisfy constraint: Member must not be null")
	}
	desired := *s.Min
	if s.Desired != nil {
		desired = *s.Desired
	}
	var launch *awsworld.LaunchSpec
	if id := c.Form.Get("InstanceId"); id != "" {
		inst, err := ec2LookupInstance(c, id)
		if err != nil {
			return nil, asValidation("Instance Id not found - No instance(s) found with id: %s", id)
		}
		launch = awsworld.Of(c.World).LaunchSpecOf(inst)
		launch.Tags = world.Tags{}
		if s.Subnets == nil {
			s.Subnets = []string{inst.Subnet}
		}
	} else if s.LaunchTemplate != nil {
		launch = &awsworld.LaunchSpec{Account: c.Account(), Region: c.Region}
	} else {
		return nil, asValidation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	if len(s.Subnets) == 0 {
		return nil, asValidation("At least one Availability Zone or VPC Subnet is required.")
	}
	if _, dup := awsworld.Of(c.World).ASGs.Get(name); dup {
		return nil, Errf(400, "AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	g, err := awsworld.Of(c.World).AddASG(c.Account(), c.Region, name, *s.Min, *s.Max, *s.Min)
	if err != nil {
		return nil, asWorldError(err)
	}
	g.Desired = 0 // the settings below launch the desired capacity
	// Through the API the grace period defaults to 0 s, where the console
	// (and the world's seeded groups) use 300 s.
	g.HealthCheckGracePeriod = 0
	g.Launch = launch
	g.TargetGroupARNs = c.Form.List("TargetGroupARNs")
	g.LoadBalancerNames = c.Form.List("LoadBalancerNames")
	for _, t := range c.Form.Structs("Tags") {
		g.Tags[t.Get("Key")] = t.Get("Value")
	}
	s.Desired = &desired
	if err := awsworld.Of(c.World).UpdateASG(name, s); err != nil {
		awsworld.Of(c.World).ASGs.Delete(name)
		return nil, asWorldError(err)
	}
	c.Touch("AWS::AutoScaling::AutoScalingGroup", name)
	return nil, nil
}

func asUpdateGroup(c *Call) (any, error) {
	g, err := asLookupGroup(c)
	if err != nil {
		return nil, err
	}
	s, err := asSettings(c)
	if err != nil {
		return nil, err
	}
	if err := awsworld.Of(c.World).UpdateASG(g.Name, s); err != nil {
		return nil, asWorldError(err)
	}
	return nil, nil
}

func asSetInstanceHealth(c *Call) (any, error) {
	id := c.Form.Get("InstanceId")
	if id == "" {
		return nil, asValidation("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null")
	}
	status := c.Form.Get("HealthStatus")
	if status == "" {
		return nil, asValidation("1 validation error detected: Value null at 'healthStatus' failed to satisfy constraint: Member must not be null")
	}
	if g, _ := awsworld.Of(c.World).ASGMember(id); g == nil || g.Account != c.Account() || g.Region != c.Region {
		return nil, asValidation("Instance Id not found - No instance(s) found with id: %s", id)
	}
	c.Touch("AWS::EC2::Instance", id)
	respect := true
	if v, ok := c.Form.Bool("ShouldRespectGracePeriod"); ok {
		respect = v
	}
	if err := awsworld.Of(c.World).SetInstanceHealth(id, status, respect); err != nil {
		return nil, asWorldError(err)
	}
	c.Param("healthStatus", status)
	return nil, nil
}
