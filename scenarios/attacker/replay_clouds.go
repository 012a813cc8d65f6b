package attacker

import (
	"context"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/protobuf/proto"

	compute "cloud.google.com/go/compute/apiv1"
)

// The replays of the operations the built-in techniques' credentials use,
// per cloud. Each changes nothing: a read again, a dry run, or the call on
// a resource that does not exist ("not found" is only answered to a caller
// the call was authorized for: AWS, ARM and Google all authorize first).

func init() {
	registerReplay(CloudAWS, "ec2:DescribeInstances", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		cfg, err := env.AWSConfig(c, u.Region)
		if err == nil {
			_, err = ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		}
		return replayAuthorized(err)
	})
	registerReplay(CloudAWS, "ec2:RunInstances", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		cfg, err := env.AWSConfig(c, u.Region)
		if err == nil {
			_, err = ec2.NewFromConfig(cfg).RunInstances(ctx, &ec2.RunInstancesInput{DryRun: aws.Bool(true),
				ImageId: aws.String("ami-0c2b8ca1dad447f8a"), InstanceType: ec2types.InstanceTypeT3Micro,
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		}
		return replayAuthorized(err, "DryRunOperation")
	})
	registerReplay(CloudAWS, "iam:CreateAccessKey", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		cfg, err := env.AWSConfig(c, "")
		if err == nil {
			_, err = iam.NewFromConfig(cfg).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(absent(env))})
		}
		return replayAuthorized(err, "NoSuchEntity")
	})
	registerReplay(CloudAWS, "s3:ListBuckets", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		cfg, err := env.AWSConfig(c, "")
		if err == nil {
			_, err = s3.NewFromConfig(cfg, pathStyle).ListBuckets(ctx, &s3.ListBucketsInput{})
		}
		return replayAuthorized(err)
	})

	registerReplay(CloudAzure, "Microsoft.Compute/virtualMachines/read", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudAzure)
		if err == nil {
			var vms *armcompute.VirtualMachinesClient
			if vms, err = armcompute.NewVirtualMachinesClient(t.Account, bearer{c.Token}, azureOptions(env.Clock, t, env.Caller())); err == nil {
				_, err = vms.Get(ctx, t.Prop("resource_group"), armName(u.Resource), nil)
			}
		}
		return replayAuthorized(err, "ResourceNotFound")
	})
	registerReplay(CloudAzure, "Microsoft.Network/networkSecurityGroups/read", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudAzure)
		if err == nil {
			var nsgs *armnetwork.SecurityGroupsClient
			if nsgs, err = armnetwork.NewSecurityGroupsClient(t.Account, bearer{c.Token}, azureOptions(env.Clock, t, env.Caller())); err == nil {
				_, err = nsgs.Get(ctx, t.Prop("resource_group"), armName(u.Resource), nil)
			}
		}
		return replayAuthorized(err, "ResourceNotFound")
	})
	registerReplay(CloudAzure, "Microsoft.Authorization/roleAssignments/read", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudAzure)
		if err == nil {
			_, err = listAssignments(ctx, azureOptions(env.Clock, t, env.Caller()), t.Account, u.Resource, c)
		}
		return replayAuthorized(err)
	})
	registerReplay(CloudAzure, azureRuleWrite, func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudAzure)
		if err == nil {
			var rules *armnetwork.SecurityRulesClient
			if rules, err = armnetwork.NewSecurityRulesClient(t.Account, bearer{c.Token}, azureOptions(env.Clock, t, env.Caller())); err == nil {
				_, err = rules.BeginCreateOrUpdate(ctx, t.Prop("resource_group"), absent(env), absent(env), armnetwork.SecurityRule{
					Properties: &armnetwork.SecurityRulePropertiesFormat{Priority: to.Ptr[int32](4096),
						Access: to.Ptr(armnetwork.SecurityRuleAccessDeny), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
						Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
						DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("22")}}, nil)
			}
		}
		return replayAuthorized(err, "ResourceNotFound")
	})

	registerReplay(CloudGCP, "compute.instances.get", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudGCP)
		if err == nil {
			err = getInstance(ctx, gcpOptions(env.Clock, t, env.Caller(), c.Token), u.Resource)
		}
		return replayAuthorized(err, "NOT_FOUND")
	})
	registerReplay(CloudGCP, "compute.firewalls.get", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudGCP)
		if err == nil {
			var fws *compute.FirewallsClient
			if fws, err = compute.NewFirewallsRESTClient(ctx, gcpOptions(env.Clock, t, env.Caller(), c.Token)...); err == nil {
				defer func() { _ = fws.Close() }()
				_, err = fws.Get(ctx, &computepb.GetFirewallRequest{Project: t.Account, Firewall: lastSegment(u.Resource)})
			}
		}
		return replayAuthorized(err, "NOT_FOUND")
	})
	registerReplay(CloudGCP, "compute.firewalls.insert", func(ctx context.Context, env *Env, u use, c *Credential) (bool, string, error) {
		t, err := env.Target(CloudGCP)
		if err == nil {
			var fws *compute.FirewallsClient
			if fws, err = compute.NewFirewallsRESTClient(ctx, gcpOptions(env.Clock, t, env.Caller(), c.Token)...); err == nil {
				defer func() { _ = fws.Close() }()
				// A network that does not exist: authorized callers are
				// told so; nothing is created.
				_, err = fws.Insert(ctx, &computepb.InsertFirewallRequest{Project: t.Account, FirewallResource: &computepb.Firewall{
					Name: proto.String(absent(env)), Network: proto.String("projects/" + t.Account + "/global/networks/" + absent(env)),
					Direction: proto.String("INGRESS"), SourceRanges: []string{"192.0.2.1/32"},
					Allowed: []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{"22"}}}}})
			}
		}
		return replayAuthorized(err, "NOT_FOUND", "HTTP_400")
	})
}

// absent names a resource that does not exist, for replays.
func absent(env *Env) string { return "fd-" + env.ShortID() + "-absent" }
