package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Read-only enumeration of the network and launch surface: VPCs, subnets,
// security-group rules, flow logs, images and key pairs. Each lists what
// the world holds for the caller's account and region, takes EC2's filters
// (unknown filter names are refused as EC2 does) and pages with MaxResults
// and NextToken.

// ec2Describe is the shape every handler here shares: ids asked for must
// exist (notFound names EC2's error for one that does not), every filter
// must match, and ids together with MaxResults are refused.
type ec2Describe[T any] struct {
	setName, idKey, idParam string
	all                     []T
	id                      func(T) string
	field                   func(T) ec2FilterField
	notFound                func(id string) error
	render                  func(T) *X
	// pageless operations (DescribeKeyPairs) answer everything at once.
	pageless bool
}

func (d ec2Describe[T]) run(c *Call) (any, error) {
	ids := c.Form.List(d.idKey)
	filters := c.Form.Filters()
	var zero T
	if err := ec2CheckFilters(filters, d.field(zero)); err != nil {
		return nil, err
	}
	if len(ids) > 0 && c.Form.Has("MaxResults") && !d.pageless {
		return nil, Errf(400, "InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", d.idParam)
	}
	have := map[string]bool{}
	for _, x := range d.all {
		have[d.id(x)] = true
	}
	for _, id := range ids {
		if !have[id] {
			return nil, d.notFound(id)
		}
	}
	var matched []T
	for _, x := range d.all {
		if len(ids) > 0 && !ec2ContainsString(ids, d.id(x)) {
			continue
		}
		ok, err := ec2MatchFilters(filters, d.field(x))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, x)
		}
	}
	if d.pageless {
		items := make([]*X, 0, len(matched))
		for _, m := range matched {
			items = append(items, d.render(m))
		}
		return []*X{L(d.setName, items)}, nil
	}
	return ec2Page(c, d.setName, matched, 1000, d.render)
}

// ---- VPCs and subnets ----------------------------------------------------------

// ec2DefaultVPCCIDR is the CIDR of the default VPC EC2 makes in each region.
const ec2DefaultVPCCIDR = "172.31.0.0/16"

func ec2VPCsOf(c *Call) []*world.VPC {
	var out []*world.VPC
	for _, id := range c.World.VPCs.Keys() {
		if v := c.World.VPCs.Lookup(id); v.Account == c.Account() && v.Region == c.Region {
			out = append(out, v)
		}
	}
	return out
}

// ec2SubnetsOf lists the subnets of the caller's VPCs.
func ec2SubnetsOf(c *Call) []*world.Subnet {
	vpcs := map[string]bool{}
	for _, v := range ec2VPCsOf(c) {
		vpcs[v.ID] = true
	}
	var out []*world.Subnet
	for _, id := range c.World.Subnets.Keys() {
		if s := c.World.Subnets.Lookup(id); vpcs[s.VPC] {
			out = append(out, s)
		}
	}
	return out
}

// ec2ResourceID is a deterministic EC2-looking id derived from a seed
// string, for sub-resources the world does not keep (CIDR associations,
// DHCP options, key pairs): nothing is drawn from a random stream.
func ec2ResourceID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return prefix + "-" + hex.EncodeToString(sum[:])[:17]
}

func ec2DescribeVpcs(c *Call) (any, error) {
	return ec2Describe[*world.VPC]{
		setName: "vpcSet", idKey: "VpcId", idParam: "vpcIds", all: ec2VPCsOf(c),
		id: func(v *world.VPC) string { return v.ID },
		field: func(v *world.VPC) ec2FilterField {
			return func(name string) ([]string, bool) {
				if v == nil {
					v = &world.VPC{}
				}
				if vals, ok := ec2TagFilter(name, v.Tags); ok {
					return vals, true
				}
				switch name {
				case "vpc-id":
					return []string{v.ID}, true
				case "cidr", "cidr-block-association.cidr-block":
					return []string{v.CIDR}, true
				case "is-default":
					return []string{strconv.FormatBool(v.CIDR == ec2DefaultVPCCIDR)}, true
				case "owner-id":
					return []string{v.Account}, true
				case "state":
					return []string{"available"}, true
				case "dhcp-options-id":
					return []string{ec2ResourceID("dopt", v.Account+v.Region)}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		},
		render: func(v *world.VPC) *X {
			return E("item", T("vpcId", v.ID), T("ownerId", v.Account), T("state", "available"),
				T("cidrBlock", v.CIDR),
				L("cidrBlockAssociationSet", []*X{E("item", T("cidrBlock", v.CIDR),
					T("associationId", ec2ResourceID("vpc-cidr-assoc", v.ID)),
					E("cidrBlockState", T("state", "associated")))}),
				T("dhcpOptionsId", ec2ResourceID("dopt", v.Account+v.Region)), T("instanceTenancy", "default"),
				T("isDefault", v.CIDR == ec2DefaultVPCCIDR), ec2TagSetXML(v.Tags))
		},
	}.run(c)
}

// ec2FreeAddresses is a subnet's available IPv4 address count: its size
// less AWS's five reserved addresses and the interfaces in it.
func ec2FreeAddresses(c *Call, s *world.Subnet) int {
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil || p.Bits() > 28 {
		return 0
	}
	n := 1<<(32-p.Bits()) - 5
	for _, eni := range c.World.ENIs.All() {
		if eni.Subnet == s.ID {
			n--
		}
	}
	return max(n, 0)
}

func ec2DescribeSubnets(c *Call) (any, error) {
	owner := c.Account()
	subnetARN := func(s *world.Subnet) string { return ec2ARN(c, "subnet", s.ID) }
	isDefault := func(s *world.Subnet) bool {
		v := c.World.VPCs.Lookup(s.VPC)
		return v != nil && v.CIDR == ec2DefaultVPCCIDR
	}
	return ec2Describe[*world.Subnet]{
		setName: "subnetSet", idKey: "SubnetId", idParam: "subnetIds", all: ec2SubnetsOf(c),
		id: func(s *world.Subnet) string { return s.ID },
		field: func(s *world.Subnet) ec2FilterField {
			return func(name string) ([]string, bool) {
				if s == nil {
					s = &world.Subnet{}
				}
				if vals, ok := ec2TagFilter(name, nil); ok {
					return vals, true
				}
				switch name {
				case "subnet-id":
					return []string{s.ID}, true
				case "vpc-id":
					return []string{s.VPC}, true
				case "availability-zone":
					return []string{s.AZ}, true
				case "cidr", "cidrBlock", "cidr-block":
					return []string{s.CIDR}, true
				case "state":
					return []string{"available"}, true
				case "owner-id":
					return []string{owner}, true
				case "default-for-az":
					return []string{strconv.FormatBool(s.ID != "" && isDefault(s))}, true
				case "subnet-arn":
					return []string{subnetARN(s)}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		},
		render: func(s *world.Subnet) *X {
			return E("item", T("subnetId", s.ID), T("subnetArn", subnetARN(s)), T("state", "available"),
				T("ownerId", owner), T("vpcId", s.VPC), T("cidrBlock", s.CIDR),
				T("availableIpAddressCount", ec2FreeAddresses(c, s)), T("availabilityZone", s.AZ),
				T("availabilityZoneId", ec2AZID(c.Region, s.AZ)),
				T("defaultForAz", isDefault(s)), T("mapPublicIpOnLaunch", isDefault(s)),
				T("assignIpv6AddressOnCreation", false), L("ipv6CidrBlockAssociationSet", nil))
		},
	}.run(c)
}

// ec2AZID is a zone's id as EC2 names it: the region's short form (its
// first part, the initials of the others, its number) and the zone's
// number, "us-east-1a" is "use1-az1".
func ec2AZID(region, az string) string {
	parts := strings.Split(region, "-")
	short := parts[0]
	for _, p := range parts[1:] {
		if p != "" && (p[0] < '0' || p[0] > '9') {
			p = p[:1]
		}
		short += p
	}
	n := 1
	if letter := strings.TrimPrefix(az, region); len(letter) == 1 {
		n = int(letter[0]-'a') + 1
	}
	return fmt.Sprintf("%s-az%d", short, n)
}

// ---- security group rules ----------------------------------------------------

// ec2GroupRule is one rule of a group as DescribeSecurityGroupRules lists it.
type ec2GroupRule struct {
	group  *awsworld.SecurityGroup
	rule   awsworld.Rule
	egress bool
}

func ec2DescribeSecurityGroupRules(c *Call) (any, error) {
	var all []ec2GroupRule
	for _, id := range awsworld.Of(c.World).SecurityGroups.Keys() {
		sg := awsworld.Of(c.World).SecurityGroups.Lookup(id)
		if sg.Account != c.Account() || sg.Region != c.Region || c.Hidden(sg.CreatedAt) {
			continue
		}
		for _, r := range sg.Ingress {
			all = append(all, ec2GroupRule{sg, r, false})
		}
		for _, r := range sg.Egress {
			all = append(all, ec2GroupRule{sg, r, true})
		}
	}
	return ec2Describe[ec2GroupRule]{
		setName: "securityGroupRuleSet", idKey: "SecurityGroupRuleId", idParam: "securityGroupRuleIds", all: all,
		id: func(r ec2GroupRule) string { return r.rule.RuleID },
		field: func(r ec2GroupRule) ec2FilterField {
			return func(name string) ([]string, bool) {
				if vals, ok := ec2TagFilter(name, nil); ok {
					return vals, true
				}
				switch name {
				case "group-id":
					if r.group == nil {
						return nil, true
					}
					return []string{r.group.ID}, true
				case "security-group-rule-id":
					return []string{r.rule.RuleID}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		},
		render: func(r ec2GroupRule) *X {
			var peer *X
			if len(r.rule.CIDRs) > 0 {
				peer = T("cidrIpv4", r.rule.CIDRs[0])
			} else if len(r.rule.Groups) > 0 {
				peer = E("referencedGroupInfo", T("groupId", r.rule.Groups[0]), T("userId", r.group.Account))
			}
			return E("item", T("securityGroupRuleId", r.rule.RuleID), T("groupId", r.group.ID),
				T("groupOwnerId", r.group.Account), T("isEgress", r.egress), T("ipProtocol", r.rule.Protocol),
				T("fromPort", r.rule.FromPort), T("toPort", r.rule.ToPort), peer,
				T("securityGroupRuleArn", ec2ARN(c, "security-group-rule", r.rule.RuleID)))
		},
	}.run(c)
}

// ---- flow logs ---------------------------------------------------------------

// ec2FlowLogFormat is the default (version 2) record format.
const ec2FlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
	"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

func ec2DescribeFlowLogs(c *Call) (any, error) {
	var all []*awsworld.FlowLog
	for _, id := range awsworld.Of(c.World).FlowLogs.Keys() {
		if f := awsworld.Of(c.World).FlowLogs.Lookup(id); f.Account == c.Account() && f.Region == c.Region {
			all = append(all, f)
		}
	}
	return ec2Describe[*awsworld.FlowLog]{
		setName: "flowLogSet", idKey: "FlowLogId", idParam: "flowLogIds", all: all,
		id: func(f *awsworld.FlowLog) string { return f.ID },
		field: func(f *awsworld.FlowLog) ec2FilterField {
			return func(name string) ([]string, bool) {
				if f == nil {
					f = &awsworld.FlowLog{}
				}
				if vals, ok := ec2TagFilter(name, f.Tags); ok {
					return vals, true
				}
				switch name {
				case "flow-log-id":
					return []string{f.ID}, true
				case "resource-id":
					return []string{f.ResourceID}, true
				case "traffic-type":
					return []string{f.TrafficType}, true
				case "log-destination-type":
					return []string{f.DestinationType}, true
				case "deliver-log-status":
					return []string{"SUCCESS"}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidFlowLogId.NotFound", "Flow log ID '%s' does not exist", id)
		},
		render: func(f *awsworld.FlowLog) *X {
			return E("item", T("creationTime", f.CreatedAt), T("deliverLogsStatus", "SUCCESS"), T("flowLogId", f.ID),
				T("flowLogStatus", "ACTIVE"), T("resourceId", f.ResourceID), T("trafficType", f.TrafficType),
				T("logDestinationType", f.DestinationType), T("logDestination", f.Destination),
				T("logFormat", ec2FlowLogFormat), T("maxAggregationInterval", int(awsworld.FlowLogWindow/time.Second)),
				ec2TagSetXML(f.Tags))
		},
	}.run(c)
}

// ---- images ------------------------------------------------------------------

// ec2AmazonOwner is the account that owns Amazon's public images.
const ec2AmazonOwner = "137112412989"

var ec2ImageIDRe = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

// ec2Image is a public image an instance of the account was launched from:
// the simulator's image catalog is what the account's instances use.
type ec2Image struct{ id string }

func (i ec2Image) name() string {
	return "al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64-" + strings.TrimPrefix(i.id, "ami-")[:8]
}

func ec2ImagesOf(c *Call) []ec2Image {
	seen := map[string]bool{}
	var out []ec2Image
	for _, inst := range c.World.InstancesOfLocked(c.Account(), c.Region) {
		if !seen[inst.ImageID] && ec2ImageIDRe.MatchString(inst.ImageID) {
			seen[inst.ImageID] = true
			out = append(out, ec2Image{inst.ImageID})
		}
	}
	slices.SortFunc(out, func(a, b ec2Image) int { return strings.Compare(a.id, b.id) })
	return out
}

func ec2DescribeImages(c *Call) (any, error) {
	for _, id := range c.Form.List("ImageId") {
		if !ec2ImageIDRe.MatchString(id) {
			return nil, Errf(400, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
		}
	}
	all := ec2ImagesOf(c)
	// Owner: the account's own images (none: the simulator does not
	// register images) or Amazon's.
	if owners := c.Form.List("Owner"); len(owners) > 0 {
		amazon := ec2ContainsString(owners, "amazon") || ec2ContainsString(owners, ec2AmazonOwner)
		if !amazon {
			all = nil
		}
	}
	return ec2Describe[ec2Image]{
		setName: "imagesSet", idKey: "ImageId", idParam: "imageIds", all: all,
		id: func(i ec2Image) string { return i.id },
		field: func(i ec2Image) ec2FilterField {
			return func(name string) ([]string, bool) {
				switch name {
				case "image-id":
					return []string{i.id}, true
				case "name":
					if i.id == "" {
						return nil, true
					}
					return []string{i.name()}, true
				case "owner-id":
					return []string{ec2AmazonOwner}, true
				case "owner-alias":
					return []string{"amazon"}, true
				case "state":
					return []string{"available"}, true
				case "architecture":
					return []string{"x86_64"}, true
				case "is-public":
					return []string{"true"}, true
				case "image-type":
					return []string{"machine"}, true
				case "root-device-type":
					return []string{"ebs"}, true
				case "virtualization-type":
					return []string{"hvm"}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		},
		render: func(i ec2Image) *X {
			return E("item", T("imageId", i.id), T("imageLocation", "amazon/"+i.name()), T("imageState", "available"),
				T("imageOwnerId", ec2AmazonOwner), T("creationDate", "2024-11-11T20:15:43.000Z"), T("isPublic", true),
				T("architecture", "x86_64"), T("imageType", "machine"), T("platformDetails", "Linux/UNIX"),
				T("usageOperation", "RunInstances"), T("imageOwnerAlias", "amazon"), T("name", i.name()),
				T("description", "Amazon Linux 2023 AMI 2023.6.20241111.0 x86_64 HVM kernel-6.1"),
				T("enaSupport", true), T("rootDeviceType", "ebs"), T("rootDeviceName", "/dev/xvda"),
				L("blockDeviceMapping", []*X{E("item", T("deviceName", "/dev/xvda"),
					E("ebs", T("snapshotId", ec2ResourceID("snap", i.id)), T("volumeSize", 8),
						T("deleteOnTermination", true), T("volumeType", "gp3"), T("encrypted", false)))}),
				T("virtualizationType", "hvm"), T("bootMode", "uefi-preferred"), T("hypervisor", "xen"))
		},
	}.run(c)
}

// ---- key pairs ---------------------------------------------------------------

// ec2KeyPair is a key pair the account's instances were launched with:
// the simulator keeps no key material, only the names instances carry.
type ec2KeyPair struct {
	name    string
	created time.Time
}

func (k ec2KeyPair) id(account string) string { return ec2ResourceID("key", account+"/"+k.name) }

// fingerprint is an RSA key's MD5-style colon-separated fingerprint.
func (k ec2KeyPair) fingerprint(account string) string {
	sum := sha256.Sum256([]byte("firedrill-key:" + account + "/" + k.name))
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02x", sum[i])
	}
	return strings.Join(parts, ":")
}

func ec2DescribeKeyPairs(c *Call) (any, error) {
	acct := c.Account()
	first := map[string]time.Time{}
	for _, inst := range c.World.InstancesOfLocked(acct, c.Region) {
		if inst.KeyName == "" {
			continue
		}
		if t, ok := first[inst.KeyName]; !ok || inst.LaunchTime.Before(t) {
			first[inst.KeyName] = inst.LaunchTime
		}
	}
	var all []ec2KeyPair
	for _, n := range world.SortedKeys(first) {
		all = append(all, ec2KeyPair{n, first[n]})
	}
	if ids := c.Form.List("KeyPairId"); len(ids) > 0 {
		for _, id := range ids {
			found := false
			for _, k := range all {
				found = found || k.id(acct) == id
			}
			if !found {
				return nil, Errf(400, "InvalidKeyPair.NotFound", "The key pair ID '%s' does not exist", id)
			}
		}
		var keep []ec2KeyPair
		for _, k := range all {
			if ec2ContainsString(ids, k.id(acct)) {
				keep = append(keep, k)
			}
		}
		all = keep
	}
	return ec2Describe[ec2KeyPair]{
		setName: "keySet", idKey: "KeyName", idParam: "keyNames", all: all, pageless: true,
		id: func(k ec2KeyPair) string { return k.name },
		field: func(k ec2KeyPair) ec2FilterField {
			return func(name string) ([]string, bool) {
				if vals, ok := ec2TagFilter(name, nil); ok {
					return vals, true
				}
				switch name {
				case "key-name":
					return []string{k.name}, true
				case "key-pair-id":
					return []string{k.id(acct)}, true
				case "fingerprint":
					return []string{k.fingerprint(acct)}, true
				case "key-type":
					return []string{"rsa"}, true
				}
				return nil, false
			}
		},
		notFound: func(id string) error {
			return Errf(400, "InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
		},
		render: func(k ec2KeyPair) *X {
			return E("item", T("keyPairId", k.id(acct)), T("keyFingerprint", k.fingerprint(acct)),
				T("keyName", k.name), T("keyType", "rsa"), L("tagSet", nil), T("createTime", k.created))
		},
	}.run(c)
}

// ec2CreateFlowLogs creates flow logs delivering to S3 (the destination the
// simulator delivers to; CloudWatch Logs and Firehose are not simulated and
// are refused by name). A resource that does not exist is reported in
// unsuccessful, as EC2 does, and the others are created.
func ec2CreateFlowLogs(c *Call) (any, error) {
	ids := c.Form.List("ResourceId")
	if len(ids) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter ResourceId")
	}
	traffic := c.Form.Get("TrafficType")
	if traffic == "" {
		traffic = "ALL"
	}
	if traffic != "ALL" && traffic != "ACCEPT" && traffic != "REJECT" {
		return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter trafficType is invalid. Valid values are ACCEPT, REJECT and ALL.", traffic)
	}
	switch dt := c.Form.Get("LogDestinationType"); dt {
	case "s3":
	case "", "cloud-watch-logs", "kinesis-data-firehose":
		return nil, Errf(400, "InvalidParameterValue", "LogDestinationType %q is not simulated by firedrill: flow logs deliver to S3 (LogDestinationType s3)", dt)
	default:
		return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter logDestinationType is invalid.", dt)
	}
	dest, err := ec2RequireParam(c, "LogDestination", "LogDestination")
	if err != nil {
		return nil, err
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(dest, "arn:aws:s3:::"), "/")
	if b := c.World.Buckets.Lookup(bucket); !strings.HasPrefix(dest, "arn:aws:s3:::") || b == nil {
		return nil, Errf(400, "InvalidParameterValue", "LogDestination: %s does not exist", dest)
	}
	var created, failed []*X
	for _, id := range ids {
		if !ec2FlowLogTargetExists(c, id) {
			failed = append(failed, E("item", T("resourceId", id), E("error", T("code", "InvalidParameter"),
				T("message", fmt.Sprintf("The resource '%s' does not exist", id)))))
			continue
		}
		f := awsworld.Of(c.World).AddFlowLog(c.Account(), c.Region, id, traffic, dest)
		for k, v := range ec2TagSpecs(c, "vpc-flow-log") {
			f.Tags[k] = v
		}
		c.Touch("AWS::EC2::FlowLog", f.ID)
		created = append(created, T("item", f.ID))
	}
	c.Param("logDestination", dest)
	return []*X{TO("clientToken", c.Form.Get("ClientToken")), L("flowLogIdSet", created), L("unsuccessful", failed)}, nil
}

// ec2FlowLogTargetExists reports whether a VPC, subnet or interface of the
// caller's account is there to log.
func ec2FlowLogTargetExists(c *Call, id string) bool {
	for _, v := range ec2VPCsOf(c) {
		if v.ID == id {
			return true
		}
	}
	for _, s := range ec2SubnetsOf(c) {
		if s.ID == id {
			return true
		}
	}
	eni := c.World.ENIs.Lookup(id)
	return eni != nil && eni.Account == c.Account() && eni.Region == c.Region
}

// ec2DeleteFlowLogs deletes flow logs: windows already closed are still
// delivered, the open one and later ones never are. Unknown ids are
// reported in unsuccessful.
func ec2DeleteFlowLogs(c *Call) (any, error) {
	ids := c.Form.List("FlowLogId")
	if len(ids) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter FlowLogId")
	}
	var failed []*X
	for _, id := range ids {
		f, ok := awsworld.Of(c.World).FlowLogs.Get(id)
		if !ok || f.Account != c.Account() || f.Region != c.Region {
			failed = append(failed, E("item", T("resourceId", id), E("error", T("code", "InvalidFlowLogId.NotFound"),
				T("message", fmt.Sprintf("Flow log ID '%s' does not exist", id)))))
			continue
		}
		// Deliver what is due before the flow log goes, so its last
		// windows are not lost.
		if bucket, _ := f.Bucket(); c.World.Buckets.Lookup(bucket) != nil {
			b := c.World.Buckets.Lookup(bucket)
			deliverLogsLocked(c.World, b, c.Now)
		}
		awsworld.Of(c.World).FlowLogs.Delete(id)
		c.Touch("AWS::EC2::FlowLog", id)
	}
	return []*X{L("unsuccessful", failed)}, nil
}

// ec2FlowLogTargets names the resources CreateFlowLogs acts on for
// authorization: each VPC, subnet or interface.
func ec2FlowLogTargets(c *Call) []string {
	var out []string
	for _, id := range c.Form.List("ResourceId") {
		typ := "vpc"
		switch {
		case strings.HasPrefix(id, "subnet-"):
			typ = "subnet"
		case strings.HasPrefix(id, "eni-"):
			typ = "network-interface"
		}
		out = append(out, ec2ARN(c, typ, id))
	}
	return out
}
