package attacker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
)

// CloudAWS is AWS as techniques and events name it.
const CloudAWS = "aws"

// AWS technique ids.
const (
	ExploitWebApp   = "aws.ec2.exploit-web-app"
	CryptoMiner     = "aws.ec2.start-cryptominer"
	StealIMDSCreds  = "aws.ec2.steal-imds-credentials"
	LaunchGPUs      = "aws.ec2.launch-gpu-instances"
	CreateAccessKey = "aws.iam.create-access-key"
	KeepAccess      = "aws.keep-access"
	// AWSRoutineCalls is an IAM user's ordinary API calls.
	AWSRoutineCalls = "aws.routine-api-calls"
	// AWSWebClients are the users of the web tier.
	AWSWebClients = "aws.web-clients"
	// AWSFleetRoleCalls are the Auto Scaling group's other members calling
	// with their instance role.
	AWSFleetRoleCalls = "aws.fleet-role-calls"
)

// Credential labels of the AWS techniques.
const (
	labelStolenSession  = "stolen-session"
	labelPersistenceKey = "persistence-key"
)

func init() {
	registerVMAttack(vmAttack{Cloud: CloudAWS, Exploit: ExploitWebApp, Miner: CryptoMiner, Steal: StealIMDSCreds, KeepAccess: KeepAccess,
		// EC2 Auto Scaling terminates the oldest instance first.
		FirstToScaleIn: "oldest",
		Metadata: stealSpec{Operation: "imds:GetRoleCredentials", Path: "/latest/meta-data/iam/security-credentials/",
			Label: labelStolenSession, Description: "the instance role's session, from IMDS", Use: (*Env).callerIdentity,
			Probe: stolenSessionProbe},
		KeepAccessParams: []ParamSpec{
			{Name: "gpu_region", Kind: KindString, Default: "us-west-2", Doc: "where a stolen session tries to launch"},
			{Name: "instance_type", Kind: KindString, Default: "p3.2xlarge"},
			{Name: "image", Kind: KindString, Default: "ami-0c2b8ca1dad447f8a"}},
	}, launchGPUInstances(), createAccessKey(), routineAWS(), webClients(CloudAWS, AWSWebClients), fleetCalls(CloudAWS, fleetSpec{
		ID: AWSFleetRoleCalls, Name: "Application calls of the group's other instances with the instance role",
		Operation: "s3:GetObject",
		// aws-sdk-go-v2's ec2rolecreds provider caps a credential's expiry at
		// an hour after it fetched it "so they can be refreshed more often",
		// and the credentials cache it is wrapped in refreshes at that expiry
		// (no expiry window): an application asks IMDS again hourly, whatever
		// IMDS's own rotation, and never because a call was denied.
		MaxAge: time.Hour,
		Call: func(ctx context.Context, a *Actor, caller Caller, c *Credential, _ string) error {
			// The application reads its configuration from its data bucket,
			// which the role's policy allows.
			out, err := s3.NewFromConfig(awsConfig(a.Clock, a.Target, caller, c, ""), pathStyle).GetObject(ctx,
				&s3.GetObjectInput{Bucket: aws.String(a.Target.Prop("data_bucket")), Key: aws.String(a.Target.Prop("data_object"))})
			if err == nil {
				_ = out.Body.Close()
			}
			return err
		}}))
}

// awsConfig returns an SDK configuration acting with cred in region (the
// site's home region when empty). The transport chain marks every request
// as the caller's, charges the simulator's modelled latency and retry
// backoff on the drill clock, and the SDK's own retryer never sleeps on the
// wall clock.
func awsConfig(clk simhttp.Sleeper, t *Target, caller Caller, cred *Credential, region string) aws.Config {
	if region == "" {
		region = t.Region
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(t.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(cred.KeyID, cred.Secret, cred.SessionToken),
		HTTPClient:   &http.Client{Transport: caller.transport(clk, t, simhttp.ExponentialBackoff(time.Second, 20*time.Second))},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// AWSConfig is the attacker's SDK configuration with cred in region.
func (e *Env) AWSConfig(cred *Credential, region string) (aws.Config, error) {
	t, err := e.Target(CloudAWS)
	if err != nil {
		return aws.Config{}, err
	}
	return awsConfig(e.Clock, t, e.Caller(), cred, region), nil
}

func pathStyle(o *s3.Options) { o.UsePathStyle = true }

// callerIdentity is the attacker's "whoami" with a set of credentials.
func (e *Env) callerIdentity(ctx context.Context, technique, _ string, c *Credential) error {
	cfg, err := e.AWSConfig(c, "")
	arn := ""
	if err == nil {
		var out *sts.GetCallerIdentityOutput
		if out, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			arn = aws.ToString(out.Arn)
		}
	}
	// AWS answers GetCallerIdentity even under an explicit deny, so its
	// success proves the credentials exist, not that they grant anything;
	// requires_permission lets scoring tell it from real access.
	return e.Record(Action{Technique: technique, Operation: "sts:GetCallerIdentity", Resource: arn, Cloud: CloudAWS,
		Credential: c.Label, Detail: map[string]string{"access_key_id": c.KeyID, "requires_permission": "false"}}, err)
}

// describeInstances needs a permission the stolen session had
// (sts:GetCallerIdentity would not do: a revoked session still "works" for
// it), so its answer says whether the session still grants anything.
func describeInstances(ctx context.Context, env *Env, r Round, c *Credential) error {
	cfg, err := env.AWSConfig(c, "")
	if err == nil {
		_, err = ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	}
	return env.Record(Action{Technique: r.Technique, Operation: "ec2:DescribeInstances", Cloud: CloudAWS, Credential: c.Label,
		Detail: finalDetail(r, map[string]string{"region": cfg.Region})}, err)
}

// stolenSessionProbe: each round a whoami, a describe and a dry-run launch
// in the GPU region; at the final check the describe alone.
func stolenSessionProbe(c *Credential) Probe {
	return func(ctx context.Context, env *Env, r Round) Outcome {
		if r.Final {
			return outcome(describeInstances(ctx, env, r, c))
		}
		_ = env.callerIdentity(ctx, r.Technique, "", c)
		res := outcome(describeInstances(ctx, env, r, c))
		region := r.Params.String("gpu_region")
		cfg, err := env.AWSConfig(c, region)
		if err == nil {
			_, err = ec2.NewFromConfig(cfg).RunInstances(ctx, &ec2.RunInstancesInput{
				DryRun: aws.Bool(true), ImageId: aws.String(r.Params.String("image")),
				InstanceType: ec2types.InstanceType(r.Params.String("instance_type")), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		}
		_ = env.Record(Action{Technique: r.Technique, Operation: "ec2:RunInstances", Cloud: CloudAWS, Credential: c.Label,
			Detail: map[string]string{"region": region, "dry_run": "true"}}, err)
		return res
	}
}

// plantedKeyProbe: each round a whoami and a bucket listing; at the final
// check the listing alone.
func plantedKeyProbe(c *Credential) Probe {
	return func(ctx context.Context, env *Env, r Round) Outcome {
		if !r.Final {
			_ = env.callerIdentity(ctx, r.Technique, "", c)
		}
		cfg, err := env.AWSConfig(c, "")
		if err == nil {
			_, err = s3.NewFromConfig(cfg, pathStyle).ListBuckets(ctx, &s3.ListBucketsInput{})
		}
		return outcome(env.Record(Action{Technique: r.Technique, Operation: "s3:ListBuckets", Cloud: CloudAWS, Credential: c.Label,
			Detail: finalDetail(r, nil)}, err))
	}
}

// launchGPUInstances spends the victim's money: GPU instances in a region
// the victim does not use, one RunInstances call each, tagged and named with
// the run's correlation id. Each one is launched compute the attacker runs
// its work on.
func launchGPUInstances() *Technique {
	return &Technique{
		ID: LaunchGPUs, ATTACK: "T1578.002", Name: "Modify Cloud Compute Infrastructure: Create Cloud Instance", Cloud: CloudAWS,
		Params: []ParamSpec{
			{Name: "region", Kind: KindString, Default: "us-west-2"},
			{Name: "instance_type", Kind: KindString, Default: "p3.2xlarge"},
			{Name: "count", Kind: KindInt, Default: "3"},
			{Name: "image", Kind: KindString, Default: "ami-0c2b8ca1dad447f8a"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			c := env.State.In(CloudAWS).Credential(labelStolenSession)
			if c == nil {
				return env.Record(Action{Technique: LaunchGPUs, Operation: "ec2:RunInstances", Cloud: CloudAWS},
					fmt.Errorf("no stolen credentials to launch with"))
			}
			region := p.String("region")
			cfg, err := env.AWSConfig(c, region)
			if err != nil {
				return err
			}
			client := ec2.NewFromConfig(cfg)
			var firstErr error
			for i := 1; i <= p.Int("count"); i++ {
				name := fmt.Sprintf("fd-%s-worker-%d", env.ShortID(), i)
				out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
					ImageId: aws.String(p.String("image")), InstanceType: ec2types.InstanceType(p.String("instance_type")),
					MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
					TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
						Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)},
							{Key: aws.String(correlationTag), Value: aws.String(env.CorrelationID)}}}},
				})
				id := ""
				if err == nil && len(out.Instances) > 0 {
					id = aws.ToString(out.Instances[0].InstanceId)
					env.State.Gain(&Path{Kind: LaunchedCompute, Cloud: CloudAWS, Credential: c.Label, Resource: id,
						Description: fmt.Sprintf("%s %s in %s, launched with the stolen session", p.String("instance_type"), name, region),
						Probe:       launchedProbe(id), ArtifactKind: "vm", Artifact: id})
				}
				if rerr := env.Record(Action{Technique: LaunchGPUs, Operation: "ec2:RunInstances", Resource: id, Cloud: CloudAWS,
					Credential: c.Label, Detail: map[string]string{"region": region,
						"instance_type": p.String("instance_type"), "name": name}}, err); rerr != nil && firstErr == nil {
					firstErr = rerr
				}
			}
			return firstErr
		},
	}
}

// createAccessKey plants a long-term key on an existing IAM user with the
// stolen role session, so access survives the session being revoked.
func createAccessKey() *Technique {
	return &Technique{
		ID: CreateAccessKey, ATTACK: "T1098.001", Name: "Account Manipulation: Additional Cloud Credentials", Cloud: CloudAWS,
		Params: []ParamSpec{{Name: "user", Kind: KindString, Required: true, Doc: "the IAM user to plant the key on"}},
		Run: func(ctx context.Context, env *Env, p Params) error {
			hold := env.State.In(CloudAWS)
			c := hold.Credential(labelStolenSession)
			if c == nil {
				return env.Record(Action{Technique: CreateAccessKey, Operation: "iam:CreateAccessKey", Cloud: CloudAWS},
					fmt.Errorf("no stolen credentials"))
			}
			user := p.String("user")
			cfg, err := env.AWSConfig(c, "")
			var out *iam.CreateAccessKeyOutput
			if err == nil {
				out, err = iam.NewFromConfig(cfg).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
			}
			id := ""
			var key *Credential
			if err == nil {
				id = aws.ToString(out.AccessKey.AccessKeyId)
				key = &Credential{Cloud: CloudAWS, KeyID: id, Secret: aws.ToString(out.AccessKey.SecretAccessKey),
					Label: labelPersistenceKey, Principal: user}
				hold.Hold(key)
				env.State.Gain(&Path{ID: CloudAWS + "/planted_credential/" + id, Kind: PlantedCredential, Cloud: CloudAWS,
					Credential: key.Label, Resource: user, Description: "an access key planted on IAM user " + user,
					Probe: plantedKeyProbe(key), ArtifactKind: "access_key", Artifact: id})
			}
			if err := env.Record(Action{Technique: CreateAccessKey, Operation: "iam:CreateAccessKey", Resource: id, Cloud: CloudAWS,
				Credential: c.Label, Detail: map[string]string{"user": user}}, err); err != nil {
				return err
			}
			return env.callerIdentity(ctx, CreateAccessKey, "", key)
		},
	}
}

// routineAWS is an IAM user's ordinary reads and writes.
func routineAWS() *Technique {
	cfg := func(a *Actor) aws.Config { return awsConfig(a.Clock, a.Target, a.Caller, a.Credential, "") }
	s3c := func(a *Actor) *s3.Client { return s3.NewFromConfig(cfg(a), pathStyle) }
	// bucket is the bucket of s3 calls: the parameter, or the
	// environment's application data.
	bucket := func(a *Actor, p Params) string {
		if b := p.String("bucket"); b != "" {
			return b
		}
		return a.Target.Prop("data_bucket")
	}
	return routine(CloudAWS, AWSRoutineCalls, "Routine API calls of an IAM user", []routineCall{
		{"ec2:DescribeInstances", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := ec2.NewFromConfig(cfg(a)).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}},
		{"ec2:DescribeSecurityGroups", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := ec2.NewFromConfig(cfg(a)).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
			return err
		}},
		{"s3:ListBuckets", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := s3c(a).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}},
		{"s3:GetObject", func(ctx context.Context, a *Actor, p Params, _ int) error {
			object := p.String("object")
			if object == "" {
				object = a.Target.Prop("data_object")
			}
			out, err := s3c(a).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket(a, p)), Key: aws.String(object)})
			if err == nil {
				_ = out.Body.Close()
			}
			return err
		}},
		{"s3:PutObject", func(ctx context.Context, a *Actor, p Params, n int) error {
			_, err := s3c(a).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket(a, p)),
				Key:  aws.String(fmt.Sprintf("deploy/%s-%03d.json", a.Principal, n)),
				Body: bytes.NewReader([]byte(fmt.Sprintf(`{"build":%d}`, n)))})
			return err
		}},
		{"sts:GetCallerIdentity", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := sts.NewFromConfig(cfg(a)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"iam:ListUsers", func(ctx context.Context, a *Actor, _ Params, _ int) error {
			_, err := iam.NewFromConfig(cfg(a)).ListUsers(ctx, &iam.ListUsersInput{})
			return err
		}},
	},
		ParamSpec{Name: "bucket", Kind: KindString, Doc: "the bucket of s3 calls (default: the environment's application data)"},
		ParamSpec{Name: "object", Kind: KindString, Doc: "the object s3:GetObject reads (default: the application's configuration)"})
}
