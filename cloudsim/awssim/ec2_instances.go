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

// ec2ReservationID derives a stable reservation ID from an instance ID: the
// world keeps no reservations, and each instance is reported as its own.
func ec2ReservationID(instanceID string) string { return "r-" + strings.TrimPrefix(instanceID, "i-") }

// ec2InstanceXML renders an instance as DescribeInstances/RunInstances show it.
func ec2InstanceXML(c *Call, inst *world.Instance) *X {
	w := c.World
	var groups []*X
	var enis []*X
	for _, eid := range inst.ENIs {
		eni := w.ENIs.Lookup(eid)
		if eni == nil {
			continue
		}
		if eni.DeviceIndex == 0 || len(groups) == 0 {
			groups = ec2GroupSetItems(w, eni.Groups)
		}
		enis = append(enis, E("item",
			T("networkInterfaceId", eni.ID), T("subnetId", eni.Subnet), T("vpcId", eni.VPC),
			T("description", eni.Description), T("ownerId", eni.Account), T("status", eni.Status),
			T("macAddress", eni.MAC), T("privateIpAddress", eni.PrivateIP), T("sourceDestCheck", true),
			L("groupSet", ec2GroupSetItems(w, eni.Groups)),
			E("attachment", T("attachmentId", eni.AttachmentID), T("deviceIndex", eni.DeviceIndex),
				T("status", "attached"), T("attachTime", inst.LaunchTime), T("deleteOnTermination", eni.DeleteOnTermination)),
			ec2PublicAssocXML(eni.PublicIP, eni.Account),
			T("interfaceType", "interface")))
	}
	var bdm []*X
	for _, bd := range inst.BlockDevices {
		bdm = append(bdm, E("item", T("deviceName", bd.Device), E("ebs", T("volumeId", bd.VolumeID),
			T("status", "attached"), T("attachTime", inst.LaunchTime), T("deleteOnTermination", bd.DeleteOnTermination))))
	}
	var profile *X
	if a := awsworld.Of(w).ActiveAssociation(inst.ID); a != nil {
		id := ""
		if p := awsworld.Of(w).ProfileByARN(a.ProfileARN); p != nil {
			id = p.ID
		}
		profile = E("iamInstanceProfile", T("arn", a.ProfileARN), TO("id", id))
	}
	var reason *X
	if inst.StateReason != "" && inst.State != world.StateRunning && inst.State != world.StatePending {
		code, _, _ := strings.Cut(inst.StateReason, ":")
		reason = E("stateReason", T("code", code), T("message", inst.StateReason))
	}
	return E("item",
		T("instanceId", inst.ID), T("imageId", inst.ImageID),
		E("instanceState", T("code", awsworld.StateCode(inst.State)), T("name", inst.State)),
		T("privateDnsName", ec2PrivateDNS(inst.PrivateIP)), T("dnsName", ""), TO("reason", inst.StateReason),
		TO("keyName", inst.KeyName), T("amiLaunchIndex", 0), T("instanceType", inst.Type),
		T("launchTime", inst.LaunchTime),
		E("placement", T("availabilityZone", inst.AZ), T("tenancy", "default")),
		TO("ec2PlatformDetails", ec2PlatformDetails(inst.Platform)),
		E("monitoring", T("state", "disabled")),
		TO("subnetId", inst.Subnet), TO("vpcId", inst.VPC),
		TO("privateIpAddress", inst.PrivateIP), TO("ipAddress", inst.PublicIP),
		T("sourceDestCheck", true), L("groupSet", groups), reason,
		T("architecture", "x86_64"), T("rootDeviceType", "ebs"), T("rootDeviceName", "/dev/xvda"),
		L("blockDeviceMapping", bdm), T("virtualizationType", "hvm"),
		ec2TagSetXML(inst.Tags), T("hypervisor", "xen"),
		L("networkInterfaceSet", enis), profile, T("ebsOptimized", false))
}

func ec2PlatformDetails(p string) string {
	if p == "Windows" {
		return "Windows"
	}
	return "Linux/UNIX"
}

func ec2PrivateDNS(ip string) string {
	if ip == "" {
		return ""
	}
	return "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
}

func ec2PublicAssocXML(ip, owner string) *X {
	if ip == "" {
		return nil
	}
	return E("association", T("publicIp", ip), T("publicDnsName", ""), T("ipOwnerId", "amazon"))
}

func ec2GroupSetItems(w *world.World, ids []string) []*X {
	var out []*X
	for _, g := range ids {
		name := ""
		if sg := awsworld.Of(w).SecurityGroups.Lookup(g); sg != nil {
			name = sg.Name
		}
		out = append(out, E("item", T("groupId", g), T("groupName", name)))
	}
	return out
}

func ec2ReservationXML(c *Call, insts []*world.Instance) *X {
	items := make([]*X, 0, len(insts))
	for _, i := range insts {
		items = append(items, ec2InstanceXML(c, i))
	}
	return E("item", T("reservationId", ec2ReservationID(insts[0].ID)), T("ownerId", insts[0].Account),
		L("groupSet", nil), L("instancesSet", items))
}

func ec2InstanceFilter(c *Call, inst *world.Instance) ec2FilterField {
	w := c.World
	return func(name string) ([]string, bool) {
		if v, ok := ec2TagFilter(name, inst.Tags); ok {
			return v, true
		}
		switch name {
		case "instance-id":
			return []string{inst.ID}, true
		case "instance-state-name":
			return []string{inst.State}, true
		case "instance-state-code":
			return []string{strconv.Itoa(awsworld.StateCode(inst.State))}, true
		case "instance-type":
			return []string{inst.Type}, true
		case "vpc-id":
			return []string{inst.VPC}, true
		case "subnet-id":
			return []string{inst.Subnet}, true
		case "availability-zone":
			return []string{inst.AZ}, true
		case "image-id":
			return []string{inst.ImageID}, true
		case "private-ip-address":
			return []string{inst.PrivateIP}, true
		case "ip-address":
			return []string{inst.PublicIP}, true
		case "iam-instance-profile.arn":
			if a := awsworld.Of(w).ActiveAssociation(inst.ID); a != nil {
				return []string{a.ProfileARN}, true
			}
			return nil, true
		case "instance.group-id", "group-id":
			var gs []string
			for _, e := range inst.ENIs {
				if eni := w.ENIs.Lookup(e); eni != nil {
					gs = append(gs, eni.Groups...)
				}
			}
			return gs, true
		case "network-interface.network-interface-id":
			return inst.ENIs, true
		}
		return nil, false
	}
}

func ec2DescribeInstances(c *Call) (any, error) {
	ids := c.Form.List("InstanceId")
	if len(ids) > 0 && c.Form.Has("MaxResults") {
		return nil, Errf(400, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	filters := c.Form.Filters()
	if err := ec2CheckFilters(filters, ec2InstanceFilter(c, &world.Instance{})); err != nil {
		return nil, err
	}
	var list []*world.Instance
	if len(ids) > 0 {
		for _, id := range ids {
			inst, err := ec2LookupInstance(c, id)
			if err != nil {
				return nil, err
			}
			list = append(list, inst)
		}
	} else {
		for _, inst := range c.World.InstancesOfLocked(c.Account(), c.Region) {
			if inst.Visible(c.Now) && !c.Hidden(inst.LaunchTime) {
				list = append(list, inst)
			}
		}
	}
	var matched []*world.Instance
	for _, inst := range list {
		ok, err := ec2MatchFilters(filters, ec2InstanceFilter(c, inst))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, inst)
		}
	}
	return ec2Page(c, "reservationSet", matched, 1000, func(inst *world.Instance) *X {
		return ec2ReservationXML(c, []*world.Instance{inst})
	})
}

func ec2RunInstances(c *Call) (any, error) {
	image, err := ec2RequireParam(c, "ImageId", "ImageId")
	if err != nil {
		return nil, err
	}
	minCount, err := c.Form.Int("MinCount", 0)
	if err != nil {
		return nil, err
	}
	maxCount, err := c.Form.Int("MaxCount", 0)
	if err != nil {
		return nil, err
	}
	if minCount < 1 || maxCount < minCount {
		return nil, Errf(400, "InvalidParameterValue", "MinCount (%d) and MaxCount (%d) must be at least 1 and MinCount <= MaxCount", minCount, maxCount)
	}
	if maxCount > 50 {
		return nil, Errf(400, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit of 50 allows for the specified instance type.", maxCount)
	}
	// ClientToken makes the launch idempotent ("Ensuring idempotency in
	// Amazon EC2 API requests"): the same token with the same parameters
	// answers the same reservation and instances, launching nothing; with
	// other parameters it is IdempotentParameterMismatch.
	token := c.Form.Get("ClientToken")
	scope := c.Account() + "/" + c.Region + "/RunInstances"
	fp := c.Form.Fingerprint("ClientToken")
	if token != "" {
		prior, err := c.World.ClientTokenLocked(scope, token, fp)
		if err != nil {
			return nil, Errf(400, "IdempotentParameterMismatch", "The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.")
		}
		if prior != nil {
			return ec2Relaunch(c, image, prior.IDs)
		}
	}
	spec := awsworld.LaunchSpec{Account: c.Account(), Region: c.Region, ImageID: image,
		Type: c.Form.Get("InstanceType"), KeyName: c.Form.Get("KeyName"), Subnet: c.Form.Get("SubnetId"),
		Groups: c.Form.List("SecurityGroupId"), Tags: ec2TagSpecs(c, "instance"), VolumeTags: ec2TagSpecs(c, "volume"),
		ShutdownBehavior: c.Form.Get("InstanceInitiatedShutdownBehavior")}
	spec.DisableAPITermination, _ = c.Form.Bool("DisableApiTermination")
	spec.DisableAPIStop, _ = c.Form.Bool("DisableApiStop")
	if spec.Subnet != "" {
		if sn := c.World.Subnets.Lookup(spec.Subnet); sn == nil || c.World.VPCs.Lookup(sn.VPC) == nil || c.World.VPCs.Lookup(sn.VPC).Account != c.Account() {
			return nil, Errf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", spec.Subnet)
		}
	}
	if names := c.Form.List("SecurityGroup"); len(names) > 0 {
		vpc := awsworld.Of(c.World).DefaultVPC(c.Account(), c.Region).ID
		if spec.Subnet != "" {
			vpc = c.World.Subnets.Lookup(spec.Subnet).VPC
		}
		for _, n := range names {
			sg := awsworld.Of(c.World).GroupByName(vpc, n)
			if sg == nil {
				return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", n, vpc)
			}
			spec.Groups = append(spec.Groups, sg.ID)
		}
	}
	for _, g := range spec.Groups {
		if sg := awsworld.Of(c.World).SecurityGroups.Lookup(g); sg == nil || sg.Account != c.Account() {
			return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
	}
	if p := c.Form.Get("IamInstanceProfile.Arn"); p != "" {
		spec.Profile = p
	} else if p := c.Form.Get("IamInstanceProfile.Name"); p != "" {
		spec.Profile = p
	}
	if spec.Profile != "" {
		if prof := awsworld.Of(c.World).ProfileByARN(spec.Profile); prof == nil || prof.Account != c.Account() {
			return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", spec.Profile)
		}
	}
	if ip, ok := c.Form.Bool("NetworkInterface.1.AssociatePublicIpAddress"); ok {
		spec.PublicIP = ip
	}
	for _, bdm := range c.Form.Structs("BlockDeviceMapping") {
		dev := bdm.Get("DeviceName")
		size, err := bdm.Int("Ebs.VolumeSize", 8)
		if err != nil {
			return nil, err
		}
		del, has := bdm.Bool("Ebs.DeleteOnTermination")
		if dev == "/dev/xvda" || dev == "/dev/sda1" {
			spec.RootSizeGiB = size
			spec.KeepRootVolume = has && !del
			continue
		}
		enc, _ := bdm.Bool("Ebs.Encrypted")
		spec.DataVolumes = append(spec.DataVolumes, awsworld.VolumeSpec{Device: dev, SizeGiB: size,
			Type: bdm.Get("Ebs.VolumeType"), DeleteOnTermination: !has || del, Encrypted: enc})
	}
	userData, err := ec2UserDataParam(c, "UserData")
	if err != nil {
		return nil, err
	}
	var launched []*world.Instance
	for range maxCount {
		inst, err := awsworld.Of(c.World).LaunchInstance(spec)
		if err != nil {
			return nil, ec2Error(err)
		}
		awsworld.Of(c.World).SetUserData(inst.ID, userData)
		c.Touch("AWS::EC2::Instance", inst.ID)
		launched = append(launched, inst)
	}
	if token != "" {
		ids := make([]string, len(launched))
		for i, inst := range launched {
			ids[i] = inst.ID
		}
		c.World.RememberClientTokenLocked(scope, token, &world.IdempotentCall{Fingerprint: fp, IDs: ids})
	}
	c.Param("imageId", image)
	c.Param("instanceType", launched[0].Type)
	r := ec2ReservationXML(c, launched)
	return r.Kids, nil
}

// ec2Relaunch answers a retried RunInstances with the reservation the first
// call made, its instances as they are now.
func ec2Relaunch(c *Call, image string, ids []string) (any, error) {
	var insts []*world.Instance
	for _, id := range ids {
		if inst := c.World.Instances.Lookup(id); inst != nil {
			c.Touch("AWS::EC2::Instance", id)
			insts = append(insts, inst)
		}
	}
	if len(insts) == 0 {
		return nil, Errf(500, "InternalError", "The instances launched with this client token no longer exist.")
	}
	c.Param("imageId", image)
	c.Param("instanceType", insts[0].Type)
	return ec2ReservationXML(c, insts).Kids, nil
}

// ec2UserDataParam decodes base64 user data (at most 16 KB, as EC2 allows).
func ec2UserDataParam(c *Call, key string) (string, error) {
	v := c.Form.Get(key)
	if v == "" {
		return "", nil
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", Errf(400, "InvalidParameterValue", "Invalid BASE64 encoding of user data.")
	}
	if len(data) > 16*1024 {
		return "", Errf(400, "InvalidParameterValue", "User data is limited to 16384 bytes")
	}
	return string(data), nil
}

// ec2StateChangeXML is one item of a Stop/TerminateInstances answer.
func ec2StateChangeXML(id, prev, cur string) *X {
	return E("item", T("instanceId", id),
		E("currentState", T("code", awsworld.StateCode(cur)), T("name", cur)),
		E("previousState", T("code", awsworld.StateCode(prev)), T("name", prev)))
}

func ec2InstanceIDs(c *Call) ([]string, error) {
	ids := c.Form.List("InstanceId")
	if len(ids) == 0 {
		return nil, Errf(400, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	return ids, nil
}

// ec2ChangeStates validates every ID ec2First (EC2 fails the whole call on one
// bad ID), then applies change to each instance.
func ec2ChangeStates(c *Call, change func(id string) (string, error)) (any, error) {
	ids, err := ec2InstanceIDs(c)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := ec2LookupInstance(c, id); err != nil {
			return nil, err
		}
	}
	var items []*X
	for _, id := range ids {
		prev, err := change(id)
		if err != nil {
			return nil, ec2Error(err)
		}
		items = append(items, ec2StateChangeXML(id, prev, c.World.Instances.Lookup(id).State))
	}
	return []*X{L("instancesSet", items)}, nil
}

// ec2InstanceParam reads the required InstanceId and finds the instance.
func ec2InstanceParam(c *Call) (string, *world.Instance, error) {
	id, err := ec2RequireParam(c, "InstanceId", "InstanceId")
	if err != nil {
		return "", nil, err
	}
	inst, err := ec2LookupInstance(c, id)
	return id, inst, err
}

func ec2StopInstances(c *Call) (any, error) {
	return ec2ChangeStates(c, awsworld.Of(c.World).StopInstance)
}

func ec2StartInstances(c *Call) (any, error) {
	return ec2ChangeStates(c, awsworld.Of(c.World).StartInstance)
}

// ec2GetConsoleOutput answers the instance's serial console as EC2 does:
// base64 of what the OS printed while booting, empty until the instance
// has booted once.
func ec2GetConsoleOutput(c *Call) (any, error) {
	id, inst, err := ec2InstanceParam(c)
	if err != nil {
		return nil, err
	}
	kids := []*X{T("instanceId", id), T("timestamp", c.Now)}
	if inst.State != world.StatePending {
		kids = append(kids, T("output", base64.StdEncoding.EncodeToString([]byte(ec2ConsoleText(c, inst)))))
	}
	return kids, nil
}

// ec2ConsoleText is an Amazon Linux boot log for the instance.
func ec2ConsoleText(c *Call, inst *world.Instance) string {
	boot := inst.LaunchTime
	stamp := func(d time.Duration) string { return boot.Add(d).UTC().Format("2006-01-02 15:04:05,000") }
	host := strings.TrimSuffix(ec2PrivateDNS(inst.PrivateIP), ".ec2.internal")
	var b strings.Builder
	fmt.Fprintf(&b, "[    0.000000] Linux version 6.1.115-126.197.amzn2023.x86_64 (mockbuild@ip-10-0-58-4) #1 SMP PREEMPT_DYNAMIC\n")
	fmt.Fprintf(&b, "[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-6.1.115 root=UUID=%s ro console=tty0 console=ttyS0,115200n8\n",
		ec2ResourceID("uuid", inst.ID)[5:])
	fmt.Fprintf(&b, "[    2.114172] systemd[1]: Hostname set to <%s>.\n", host)
	fmt.Fprintf(&b, "cloud-init[1598]: Cloud-init v. 22.2.2 running 'init' at %s. Up 6.12 seconds.\n", stamp(6*time.Second))
	fmt.Fprintf(&b, "cloud-init[1598]: ci-info: | ens5 | True | %s | 255.255.255.0 | global | %s |\n", inst.PrivateIP, ec2MAC(c, inst))
	if awsworld.Of(c.World).UserData(inst.ID) != "" {
		fmt.Fprintf(&b, "cloud-init[1713]: Cloud-init v. 22.2.2 running 'modules:final' at %s. Up 11.40 seconds.\n", stamp(11*time.Second))
		fmt.Fprintf(&b, "cloud-init[1713]: + running user-data script /var/lib/cloud/instance/scripts/part-001\n")
	}
	fmt.Fprintf(&b, "cloud-init[1713]: Cloud-init v. 22.2.2 finished at %s. Datasource DataSourceEc2.  Up 12.87 seconds\n",
		boot.Add(13*time.Second).UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "\nAmazon Linux 2023.6.20241111\nKernel 6.1.115-126.197.amzn2023.x86_64 on an x86_64 (-)\n\n%s login: \n", host)
	return b.String()
}

func ec2MAC(c *Call, inst *world.Instance) string {
	if len(inst.ENIs) > 0 {
		if eni := c.World.ENIs.Lookup(inst.ENIs[0]); eni != nil {
			return eni.MAC
		}
	}
	return ""
}

func ec2TerminateInstances(c *Call) (any, error) {
	return ec2ChangeStates(c, awsworld.Of(c.World).TerminateInstance)
}

// ec2ModifyInstanceAttribute changes one attribute per call, as EC2 does:
// security groups (single-interface instances only), termination and stop
// protection, shutdown behaviour, or DeleteOnTermination of block devices.
// ec2DescribeInstanceAttribute answers one attribute per call, as EC2 does:
// responders read termination protection and shutdown behaviour with it
// before and after protecting an instance.
func ec2DescribeInstanceAttribute(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "InstanceId", "InstanceId")
	if err != nil {
		return nil, err
	}
	attr, err := ec2RequireParam(c, "Attribute", "Attribute")
	if err != nil {
		return nil, err
	}
	inst, err := ec2LookupInstance(c, id)
	if err != nil {
		return nil, err
	}
	value := func(name string, v any) *X { return E(name, T("value", v)) }
	var x *X
	switch attr {
	case "disableApiTermination":
		x = value("disableApiTermination", inst.DisableAPITermination)
	case "disableApiStop":
		x = value("disableApiStop", inst.DisableAPIStop)
	case "instanceInitiatedShutdownBehavior":
		x = value("instanceInitiatedShutdownBehavior", orDefaultShutdown(inst.ShutdownBehavior))
	case "instanceType":
		x = value("instanceType", inst.Type)
	case "groupSet":
		var items []*X
		if len(inst.ENIs) > 0 {
			if eni := c.World.ENIs.Lookup(inst.ENIs[0]); eni != nil {
				for _, g := range eni.Groups {
					items = append(items, E("item", T("groupId", g)))
				}
			}
		}
		x = L("groupSet", items)
	case "userData":
		var v *X
		if data := awsworld.Of(c.World).UserData(inst.ID); data != "" {
			v = T("value", base64.StdEncoding.EncodeToString([]byte(data)))
		}
		x = E("userData", v)
	case "blockDeviceMapping":
		var items []*X
		for _, bd := range inst.BlockDevices {
			items = append(items, E("item", T("deviceName", bd.Device),
				E("ebs", T("volumeId", bd.VolumeID), T("status", "attached"), T("deleteOnTermination", bd.DeleteOnTermination))))
		}
		x = L("blockDeviceMapping", items)
	default:
		return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	c.Touch("AWS::EC2::Instance", id)
	return []*X{T("instanceId", id), x}, nil
}

func orDefaultShutdown(b string) string {
	if b == "" {
		return "stop"
	}
	return b
}

func ec2ModifyInstanceAttribute(c *Call) (any, error) {
	id, inst, err := ec2InstanceParam(c)
	if err != nil {
		return nil, err
	}
	if inst.State == world.StateTerminated || inst.State == world.StateShuttingDown {
		return nil, Errf(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be modified.", id)
	}
	f := c.Form
	// The legacy form: Attribute=disableApiTermination&Value=true.
	if attr := f.Get("Attribute"); attr != "" {
		key := map[string]string{"disableApiTermination": "DisableApiTermination.Value",
			"disableApiStop": "DisableApiStop.Value", "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior.Value"}[attr]
		if key == "" {
			return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
		}
		f = Form{key: {f.Get("Value")}}
	}
	changed := false
	if groups := f.List("GroupId"); len(groups) > 0 {
		for _, g := range groups {
			if sg := awsworld.Of(c.World).SecurityGroups.Lookup(g); sg == nil || sg.Account != c.Account() {
				return nil, Errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", g)
			}
		}
		if err := awsworld.Of(c.World).SetInstanceGroups(id, groups); err != nil {
			return nil, ec2Error(err)
		}
		c.Param("groups", strings.Join(groups, ","))
		changed = true
	}
	if v, ok := f.Bool("DisableApiTermination.Value"); ok {
		inst.DisableAPITermination = v
		c.Param("disableApiTermination", strconv.FormatBool(v))
		changed = true
	}
	if v, ok := f.Bool("DisableApiStop.Value"); ok {
		inst.DisableAPIStop = v
		c.Param("disableApiStop", strconv.FormatBool(v))
		changed = true
	}
	if f.Has("UserData.Value") {
		data, err := ec2UserDataParam(c, "UserData.Value")
		if err != nil {
			return nil, err
		}
		if inst.State != world.StateStopped {
			return nil, Errf(400, "IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", id)
		}
		awsworld.Of(c.World).SetUserData(id, data)
		c.Param("userDataChanged", "true")
		changed = true
	}
	if v := f.Get("InstanceInitiatedShutdownBehavior.Value"); v != "" {
		if v != "stop" && v != "terminate" {
			return nil, Errf(400, "InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are 'stop' and 'terminate'.", v)
		}
		inst.ShutdownBehavior = v
		c.Param("instanceInitiatedShutdownBehavior", v)
		changed = true
	}
	if bdms := f.Structs("BlockDeviceMapping"); len(bdms) > 0 {
		for _, b := range bdms {
			dev := b.Get("DeviceName")
			del, ok := b.Bool("Ebs.DeleteOnTermination")
			if dev == "" || !ok {
				return nil, Errf(400, "MissingParameter", "The request must contain the parameters BlockDeviceMapping.DeviceName and Ebs.DeleteOnTermination")
			}
			if err := awsworld.Of(c.World).SetDeleteOnTermination(id, dev, del); err != nil {
				return nil, Errf(400, "InvalidInstanceAttributeValue", "%s", err.Error())
			}
			c.Param("deleteOnTermination:"+dev, strconv.FormatBool(del))
		}
		changed = true
	}
	if !changed {
		return nil, Errf(400, "InvalidParameterCombination", "No attributes specified.")
	}
	return []*X{T("return", true)}, nil
}

// ---- instance profile associations ----------------------------------------

func ec2AssociationXML(c *Call, name string, a *awsworld.ProfileAssociation, state string) *X {
	id := ""
	if p := awsworld.Of(c.World).ProfileByARN(a.ProfileARN); p != nil {
		id = p.ID
	}
	return E(name, T("associationId", a.ID), T("instanceId", a.Instance),
		E("iamInstanceProfile", T("arn", a.ProfileARN), TO("id", id)), T("state", state))
}

// ec2ProfileParam reads IamInstanceProfile.Arn or .Name and checks the
// profile exists in the caller's account.
func ec2ProfileParam(c *Call) (string, error) {
	p := c.Form.Get("IamInstanceProfile.Arn")
	if p == "" {
		p = c.Form.Get("IamInstanceProfile.Name")
	}
	if p == "" {
		return "", Errf(400, "MissingParameter", "The request must contain the parameter IamInstanceProfile")
	}
	if prof := awsworld.Of(c.World).ProfileByARN(p); prof == nil || prof.Account != c.Account() {
		return "", Errf(400, "InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", p)
	}
	return p, nil
}

func ec2LookupAssociation(c *Call, id string) (*awsworld.ProfileAssociation, error) {
	a, ok := awsworld.Of(c.World).Associations.Get(id)
	if !ok || a.State != "associated" {
		return nil, Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
	}
	if inst := c.World.Instances.Lookup(a.Instance); inst == nil || inst.Account != c.Account() || inst.Region != c.Region {
		return nil, Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
	}
	c.Touch("AWS::EC2::Instance", a.Instance)
	return a, nil
}

func ec2DescribeProfileAssociations(c *Call) (any, error) {
	ids := c.Form.List("AssociationId")
	filters := c.Form.Filters()
	field := func(a *awsworld.ProfileAssociation) ec2FilterField {
		return func(name string) ([]string, bool) {
			switch name {
			case "instance-id":
				return []string{a.Instance}, true
			case "state":
				return []string{a.State}, true
			}
			return nil, false
		}
	}
	if err := ec2CheckFilters(filters, field(&awsworld.ProfileAssociation{})); err != nil {
		return nil, err
	}
	// Ended associations vanish from EC2's answer unless asked for by state.
	wantEnded := ec2AnyWildcard(filters["state"], []string{"disassociated"})
	for _, id := range ids {
		if a, ok := awsworld.Of(c.World).Associations.Get(id); !ok || (a.State != "associated" && !wantEnded) {
			return nil, Errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
		}
	}
	var matched []*awsworld.ProfileAssociation
	for _, aid := range awsworld.Of(c.World).Associations.Keys() {
		a := awsworld.Of(c.World).Associations.Lookup(aid)
		inst := c.World.Instances.Lookup(a.Instance)
		if inst == nil || inst.Account != c.Account() || inst.Region != c.Region {
			continue
		}
		if len(ids) > 0 && !ec2ContainsString(ids, a.ID) {
			continue
		}
		if a.State != "associated" && !wantEnded {
			continue
		}
		ok, err := ec2MatchFilters(filters, field(a))
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, a)
		}
	}
	return ec2Page(c, "iamInstanceProfileAssociationSet", matched, 1000, func(a *awsworld.ProfileAssociation) *X {
		return ec2AssociationXML(c, "item", a, a.State)
	})
}

func ec2AssociateProfile(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "InstanceId", "InstanceId")
	if err != nil {
		return nil, err
	}
	if _, err := ec2LookupInstance(c, id); err != nil {
		return nil, err
	}
	p, err := ec2ProfileParam(c)
	if err != nil {
		return nil, err
	}
	if awsworld.Of(c.World).ActiveAssociation(id) != nil {
		return nil, Errf(400, "IncorrectState", "There is an existing association for instance %s", id)
	}
	a, err := awsworld.Of(c.World).AssociateProfile(id, p)
	if err != nil {
		return nil, ec2Error(err)
	}
	c.Param("iamInstanceProfile", p)
	return []*X{ec2AssociationXML(c, "iamInstanceProfileAssociation", a, "associating")}, nil
}

func ec2DisassociateProfile(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "AssociationId", "AssociationId")
	if err != nil {
		return nil, err
	}
	if _, err := ec2LookupAssociation(c, id); err != nil {
		return nil, err
	}
	a, err := awsworld.Of(c.World).DisassociateProfile(id)
	if err != nil {
		return nil, ec2Error(err)
	}
	return []*X{ec2AssociationXML(c, "iamInstanceProfileAssociation", a, "disassociating")}, nil
}

func ec2ReplaceProfile(c *Call) (any, error) {
	id, err := ec2RequireParam(c, "AssociationId", "AssociationId")
	if err != nil {
		return nil, err
	}
	if _, err := ec2LookupAssociation(c, id); err != nil {
		return nil, err
	}
	p, err := ec2ProfileParam(c)
	if err != nil {
		return nil, err
	}
	a, err := awsworld.Of(c.World).ReplaceProfile(id, p)
	if err != nil {
		return nil, ec2Error(err)
	}
	c.Param("iamInstanceProfile", p)
	return []*X{ec2AssociationXML(c, "iamInstanceProfileAssociation", a, "associating")}, nil
}
