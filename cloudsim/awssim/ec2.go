package awssim

import (
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// ec2Service serves EC2 on the ec2Query protocol: instances, volumes and
// snapshots, security groups and interfaces, network ACLs, instance
// profiles, tags, addresses and regions. Handlers are split over
// ec2_instances.go, ec2_network.go, ec2_netacl.go and ec2_volumes.go.
func ec2Service() *Service {
	ms := time.Millisecond
	ops := map[string]*Op{
		"DescribeInstances":  {Latency: 120 * ms, Handle: ec2DescribeInstances},
		"RunInstances":       {Latency: 650 * ms, Handle: ec2RunInstances},
		"StopInstances":      {Latency: 260 * ms, Resources: ec2ARNs("instance", "InstanceId"), Handle: ec2StopInstances},
		"TerminateInstances": {Latency: 280 * ms, Resources: ec2ARNs("instance", "InstanceId"), Handle: ec2TerminateInstances},
		"ModifyInstanceAttribute": {Latency: 210 * ms, Resources: ec2ARNs("instance", "InstanceId"),
			Handle: ec2ModifyInstanceAttribute},
		"DescribeInstanceAttribute": {Latency: 95 * ms, Resources: ec2ARNs("instance", "InstanceId"),
			Handle: ec2DescribeInstanceAttribute},
		"DescribeIamInstanceProfileAssociations": {Latency: 110 * ms, Handle: ec2DescribeProfileAssociations},
		"AssociateIamInstanceProfile": {Latency: 300 * ms, Resources: ec2ARNs("instance", "InstanceId"),
			Handle: ec2AssociateProfile},
		"DisassociateIamInstanceProfile":       {Latency: 240 * ms, Handle: ec2DisassociateProfile},
		"ReplaceIamInstanceProfileAssociation": {Latency: 320 * ms, Handle: ec2ReplaceProfile},
		"DescribeRegions":                      {Latency: 70 * ms, Handle: ec2DescribeRegions},
		"StartInstances":                       {Latency: 300 * ms, Resources: ec2ARNs("instance", "InstanceId"), Handle: ec2StartInstances},
		"GetConsoleOutput":                     {Latency: 150 * ms, Resources: ec2ARNs("instance", "InstanceId"), Handle: ec2GetConsoleOutput},
		"DescribeVpcs":                         {Latency: 95 * ms, Handle: ec2DescribeVpcs},
		"DescribeSubnets":                      {Latency: 100 * ms, Handle: ec2DescribeSubnets},
		"DescribeSecurityGroupRules":           {Latency: 110 * ms, Handle: ec2DescribeSecurityGroupRules},
		"DescribeFlowLogs":                     {Latency: 120 * ms, Handle: ec2DescribeFlowLogs},
		"CreateFlowLogs":                       {Latency: 400 * ms, Resources: ec2FlowLogTargets, Handle: ec2CreateFlowLogs},
		"DeleteFlowLogs":                       {Latency: 250 * ms, Resources: ec2ARNs("vpc-flow-log", "FlowLogId"), Handle: ec2DeleteFlowLogs},
		"DescribeImages":                       {Latency: 250 * ms, Handle: ec2DescribeImages},
		"DescribeKeyPairs":                     {Latency: 90 * ms, Handle: ec2DescribeKeyPairs},

		"DescribeVolumes": {Latency: 100 * ms, Handle: ec2DescribeVolumes},
		"CreateSnapshot": {Latency: 380 * ms, Resources: ec2ARNs("volume", "VolumeId"),
			Handle: ec2CreateSnapshot},
		"CreateSnapshots": {Latency: 450 * ms, Resources: ec2ARNs("instance", "InstanceSpecification.InstanceId"),
			Handle: ec2CreateSnapshots},
		"DescribeSnapshots": {Latency: 140 * ms, Handle: ec2DescribeSnapshots},
		"CreateTags":        {Latency: 150 * ms, Handle: ec2CreateTags},
		"DeleteTags":        {Latency: 150 * ms, Handle: ec2DeleteTags},
		"DescribeTags":      {Latency: 95 * ms, Handle: ec2DescribeTags},

		"CreateSecurityGroup":    {Latency: 330 * ms, Handle: ec2CreateSecurityGroup},
		"DescribeSecurityGroups": {Latency: 105 * ms, Handle: ec2DescribeSecurityGroups},
		"AuthorizeSecurityGroupIngress": {Latency: 230 * ms, Resources: ec2ARNs("security-group", "GroupId"),
			Handle: ec2AuthorizeRules(false)},
		"AuthorizeSecurityGroupEgress": {Latency: 230 * ms, Resources: ec2ARNs("security-group", "GroupId"),
			Handle: ec2AuthorizeRules(true)},
		"RevokeSecurityGroupIngress": {Latency: 220 * ms, Resources: ec2ARNs("security-group", "GroupId"),
			Handle: ec2RevokeRules(false)},
		"RevokeSecurityGroupEgress": {Latency: 220 * ms, Resources: ec2ARNs("security-group", "GroupId"),
			Handle: ec2RevokeRules(true)},
		"DescribeNetworkInterfaces": {Latency: 115 * ms, Handle: ec2DescribeNetworkInterfaces},
		"ModifyNetworkInterfaceAttribute": {Latency: 200 * ms, Resources: ec2ARNs("network-interface", "NetworkInterfaceId"),
			Handle: ec2ModifyNetworkInterfaceAttribute},
		"DescribeAddresses":   {Latency: 90 * ms, Handle: ec2DescribeAddresses},
		"DescribeNetworkAcls": {Latency: 110 * ms, Handle: ec2DescribeNetworkAcls},
		"CreateNetworkAcl":    {Latency: 280 * ms, Resources: ec2ARNs("vpc", "VpcId"), Handle: ec2CreateNetworkAcl},
		"CreateNetworkAclEntry": {Latency: 210 * ms, Resources: ec2ARNs("network-acl", "NetworkAclId"),
			Handle: ec2PutNetworkAclEntry(false)},
		"ReplaceNetworkAclEntry": {Latency: 210 * ms, Resources: ec2ARNs("network-acl", "NetworkAclId"),
			Handle: ec2PutNetworkAclEntry(true)},
		"DeleteNetworkAclEntry": {Latency: 200 * ms, Resources: ec2ARNs("network-acl", "NetworkAclId"),
			Handle: ec2DeleteNetworkAclEntry},
		"ReplaceNetworkAclAssociation": {Latency: 240 * ms, Resources: ec2ARNs("network-acl", "NetworkAclId"),
			Handle: ec2ReplaceNetworkAclAssociation},
		"DisassociateAddress": {Latency: 190 * ms, Handle: ec2DisassociateAddress},
	}
	for _, op := range ops {
		op.Handle = ec2WithDryRun(op.Handle)
	}
	return &Service{Name: "ec2", EventSource: "ec2.amazonaws.com", proto: ec2Query{}, Ops: ops}
}

// ec2WithDryRun answers DryRun=true with DryRunOperation once the caller has
// been authorized (the server authorizes before calling the handler, so an
// unauthorized dry run already got UnauthorizedOperation), as EC2 does.
func ec2WithDryRun(h func(c *Call) (any, error)) func(c *Call) (any, error) {
	return func(c *Call) (any, error) {
		if dry, _ := c.Form.Bool("DryRun"); dry {
			return nil, Errf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		}
		return h(c)
	}
}

// ec2ARN names an EC2 resource for resource-scoped policies.
func ec2ARN(c *Call, typ, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", c.Region, c.Account(), typ, id)
}

// ec2ARNs returns an Op.Resources function over the IDs in a form key (a
// scalar or a ".N" list).
func ec2ARNs(typ, key string) func(c *Call) []string {
	return func(c *Call) []string {
		ids := c.Form.List(key)
		if v := c.Form.Get(key); v != "" {
			ids = append(ids, v)
		}
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			out = append(out, ec2ARN(c, typ, id))
		}
		return out
	}
}

var ec2InstanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// ec2LookupInstance finds an instance of the caller's account and region,
// answering EC2's Malformed / NotFound codes.
func ec2LookupInstance(c *Call, id string) (*world.Instance, error) {
	if !ec2InstanceIDRe.MatchString(id) {
		return nil, Errf(400, "InvalidInstanceID.Malformed", "Invalid id: %q (expecting \"i-...\")", id)
	}
	inst, ok := c.World.Instances.Get(id)
	if !ok || inst.Account != c.Account() || inst.Region != c.Region || !inst.Visible(c.Now) || c.Hidden(inst.LaunchTime) {
		return nil, Errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	c.Touch("AWS::EC2::Instance", id)
	return inst, nil
}

// ec2Error maps a world compute error to EC2's code for it.
func ec2Error(err error) error {
	ce, ok := world.ComputeErrorOf(err)
	if !ok {
		return err
	}
	switch ce.Kind {
	case world.KindNotFound:
		switch ce.Resource {
		case "instance":
			return Errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", ce.ID)
		case "volume":
			return Errf(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", ce.ID)
		case "snapshot":
			return Errf(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", ce.ID)
		case "security-group":
			return Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", ce.ID)
		case "network-interface":
			return Errf(400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", ce.ID)
		case "vpc":
			return Errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", ce.ID)
		case "subnet":
			return Errf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", ce.ID)
		case "association", "address-association":
			return Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", ce.ID)
		case "instance-profile":
			return Errf(400, "InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile is invalid. Invalid IAM Instance Profile name", ce.ID)
		case "rule":
			return Errf(400, "InvalidPermission.NotFound", "%s", ce.Msg)
		case "security-group-rule":
			return Errf(400, "InvalidSecurityGroupRuleId.NotFound", "%s", ce.Msg)
		case "network-acl":
			return Errf(400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", ce.ID)
		case "network-acl-entry":
			return Errf(400, "InvalidNetworkAclEntry.NotFound", "%s", ce.Msg)
		case "network-acl-association":
			return Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", ce.ID)
		}
		return Errf(400, "InvalidID", "The ID '%s' is not valid", ce.ID)
	case world.KindIncorrectState:
		if ce.Resource != "instance" {
			return Errf(400, "IncorrectState", "%s", ce.Msg)
		}
		return Errf(400, "IncorrectInstanceState", "%s", ce.Msg)
	case world.KindNotPermitted:
		return Errf(400, "OperationNotPermitted", "%s", ce.Msg)
	case world.KindDuplicate:
		switch ce.Resource {
		case "rule":
			return Errf(400, "InvalidPermission.Duplicate", "%s", ce.Msg)
		case "network-acl-entry":
			return Errf(400, "NetworkAclEntryAlreadyExists", "%s", ce.Msg)
		}
		return Errf(400, "InvalidGroup.Duplicate", "%s", ce.Msg)
	case world.KindMultipleInterfaces:
		return Errf(400, "InvalidInstanceID", "%s", ce.Msg)
	}
	return Errf(400, "InvalidParameterValue", "%s", ce.Msg)
}

// ---- filters -------------------------------------------------------------

// ec2FilterField returns a resource's values for a filter name, and whether the
// name is a filter the operation supports.
type ec2FilterField func(name string) ([]string, bool)

// ec2MatchFilters applies EC2 filters: every filter must match (AND), any of a
// filter's values may match (OR), values take * and ? wildcards. Unknown
// filter names are rejected as EC2 does.
func ec2MatchFilters(filters map[string][]string, field ec2FilterField) (bool, error) {
	for _, name := range world.SortedKeys(filters) {
		have, known := field(name)
		if !known {
			return false, Errf(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
		if !ec2AnyWildcard(filters[name], have) {
			return false, nil
		}
	}
	return true, nil
}

// ec2CheckFilters validates filter names even when nothing is listed.
func ec2CheckFilters(filters map[string][]string, field ec2FilterField) error {
	for _, name := range world.SortedKeys(filters) {
		if _, known := field(name); !known {
			return Errf(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
	}
	return nil
}

func ec2AnyWildcard(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if p == v {
				return true
			}
			if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(v, "/", "\x00")); ok {
				return true
			}
		}
	}
	return false
}

// ec2TagFilter handles the tag:<key>, tag-key and tag-value filters.
func ec2TagFilter(name string, tags world.Tags) ([]string, bool) {
	if k, ok := strings.CutPrefix(name, "tag:"); ok {
		if v, has := tags[k]; has {
			return []string{v}, true
		}
		return nil, true
	}
	switch name {
	case "tag-key":
		return world.SortedKeys(tags), true
	case "tag-value":
		var vs []string
		for _, k := range world.SortedKeys(tags) {
			vs = append(vs, tags[k])
		}
		return vs, true
	}
	return nil, false
}

// ---- pagination ------------------------------------------------------------

// ec2PageBounds reads MaxResults / NextToken and returns the slice bounds of
// the page and the next token ("" on the last page). max==0 means the
// caller gets everything when MaxResults is absent.
// ec2Page renders one page of matched items as the set element setName,
// with the nextToken of the following page: the tail every paginated
// Describe* handler shares.
func ec2Page[T any](c *Call, setName string, matched []T, maxResults int, render func(T) *X) ([]*X, error) {
	return ec2PageCapped(c, setName, matched, maxResults, maxResults, render)
}

// ec2PageCapped is ec2Page for operations that accept a MaxResults larger
// than the page they answer: DescribeVolumes takes up to 1000 (what the
// AWS CLI v1 sends) and answers at most 500 a page.
func ec2PageCapped[T any](c *Call, setName string, matched []T, maxResults, pageCap int, render func(T) *X) ([]*X, error) {
	start, end, next, err := ec2PageBounds(c, len(matched), 5, maxResults, pageCap)
	if err != nil {
		return nil, err
	}
	items := make([]*X, 0, end-start)
	for _, m := range matched[start:end] {
		items = append(items, render(m))
	}
	return []*X{L(setName, items), TO("nextToken", next)}, nil
}

func ec2PageBounds(c *Call, total, minResults, maxResults, pageCap int) (start, end int, next string, err error) {
	if tok := c.Form.Get("NextToken"); tok != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(tok)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), "fd1:"))
		if derr != nil || perr != nil || !strings.HasPrefix(string(raw), "fd1:") || n < 0 {
			return 0, 0, "", Errf(400, "InvalidParameterValue", "The token '%s' is invalid.", tok)
		}
		start = n
	}
	if start > total {
		start = total
	}
	size := total - start
	if c.Form.Has("MaxResults") {
		m, err := c.Form.Int("MaxResults", maxResults)
		if err != nil {
			return 0, 0, "", err
		}
		if m < minResults || m > maxResults {
			return 0, 0, "", Errf(400, "InvalidParameterValue",
				"Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", m, minResults, maxResults)
		}
		size = min(m, pageCap, size)
	}
	end = start + size
	if end < total {
		next = base64.RawURLEncoding.EncodeToString([]byte("fd1:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// ---- shared XML ------------------------------------------------------------

func ec2TagSetXML(tags world.Tags) *X {
	if len(tags) == 0 {
		return nil
	}
	var items []*X
	for _, k := range world.SortedKeys(tags) {
		items = append(items, E("item", T("key", k), T("value", tags[k])))
	}
	return L("tagSet", items)
}

// ec2TagSpecs reads TagSpecification.N.ResourceType / .Tag.M.Key|Value and
// returns the tags for one resource type.
func ec2TagSpecs(c *Call, resourceType string) world.Tags {
	out := world.Tags{}
	for _, spec := range c.Form.Structs("TagSpecification") {
		if spec.Get("ResourceType") == resourceType {
			for k, v := range spec.Tags("Tag") {
				out[k] = v
			}
		}
	}
	return out
}

// ec2RequireParam answers EC2's MissingParameter.
func ec2RequireParam(c *Call, key, apiName string) (string, error) {
	v := c.Form.Get(key)
	if v == "" {
		return "", Errf(400, "MissingParameter", "The request must contain the parameter %s", apiName)
	}
	return v, nil
}

// ---- DescribeRegions -------------------------------------------------------

var ec2Regions = []string{"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
	"eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2"}

func ec2DescribeRegions(c *Call) (any, error) {
	names := c.Form.List("RegionName")
	filters := c.Form.Filters()
	var items []*X
	for _, r := range ec2Regions {
		if len(names) > 0 && !ec2AnyWildcard(names, []string{r}) {
			continue
		}
		ok, err := ec2MatchFilters(filters, func(name string) ([]string, bool) {
			switch name {
			case "region-name":
				return []string{r}, true
			case "endpoint":
				return []string{"ec2." + r + ".amazonaws.com"}, true
			case "opt-in-status":
				return []string{"opt-in-not-required"}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		items = append(items, E("item", T("regionName", r), T("regionEndpoint", "ec2."+r+".amazonaws.com"),
			T("optInStatus", "opt-in-not-required")))
	}
	for _, n := range names {
		if !strings.ContainsAny(n, "*?") && !ec2ContainsString(ec2Regions, n) {
			return nil, Errf(400, "InvalidParameterValue", "Invalid region: %s", n)
		}
	}
	return []*X{L("regionInfo", items)}, nil
}

func ec2ContainsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
