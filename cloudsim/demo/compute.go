package demo

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// webProcesses is what run-command sees on a healthy web instance.
var webProcesses = []world.Process{
	{PID: 1, User: "root", Command: "/sbin/init", CPU: 0.0},
	{PID: 412, User: "root", Command: "/usr/bin/amazon-ssm-agent", CPU: 0.1},
	{PID: 733, User: "nginx", Command: "nginx: master process /usr/sbin/nginx", CPU: 0.3},
	{PID: 734, User: "app", Command: "/opt/app/bin/server --port 8080", CPU: 6.5},
}

// launchedAgo is how long before seeding the demo instances were launched.
const launchedAgo = 24 * time.Hour

func seedCompute(w *world.World, opts Options, env *AWSEnv) error {
	now := w.Now()
	vpc := awsworld.Of(w).AddVPC(opts.Account, opts.Region, "10.20.0.0/16")
	vpc.Tags = world.Tags{"Name": "firedrill-demo"}
	env.VPC = vpc.ID
	var subnets []*world.Subnet
	for i, az := range []string{"a", "b"} {
		sn, err := awsworld.Of(w).AddSubnet(vpc.ID, opts.Region+az, fmt.Sprintf("10.20.%d.0/24", i+1))
		if err != nil {
			return fmt.Errorf("subnet %s: %w", az, err)
		}
		subnets = append(subnets, sn)
	}
	web, err := awsworld.Of(w).AddSecurityGroup(opts.Account, opts.Region, vpc.ID, "web", "web tier: HTTPS from anywhere, SSH from the office")
	if err != nil {
		return fmt.Errorf("web security group: %w", err)
	}
	if _, err := awsworld.Of(w).AuthorizeRules(web.ID, false, []awsworld.Rule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}},
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"198.51.100.0/24"}},
	}); err != nil {
		return fmt.Errorf("web ingress rules: %w", err)
	}
	env.SecurityGroup = web.ID

	if _, err := awsworld.Of(w).AddASG(opts.Account, opts.Region, DemoASG, 1, opts.Instances+2, opts.Instances); err != nil {
		return fmt.Errorf("autoscaling group: %w", err)
	}
	for i := 0; i < opts.Instances; i++ {
		inst, err := awsworld.Of(w).LaunchInstance(awsworld.LaunchSpec{
			Account: opts.Account, Region: opts.Region, Subnet: subnets[i%len(subnets)].ID,
			ImageID: "ami-0f3c9c1a2b3d4e5f6", Type: "c5.xlarge", Groups: []string{web.ID},
			Profile: DemoProfile, PublicIP: true, RootSizeGiB: 16,
			DataVolumes: []awsworld.VolumeSpec{{Device: "/dev/sdf", SizeGiB: 50, DeleteOnTermination: true}},
			Tags:        world.Tags{"Name": fmt.Sprintf("web-%d", i+1), "env": "prod", "app": "storefront", "owner": "web-team"},
			ASG:         DemoASG, SSMAgent: true, MemoryGiB: 8, Running: true,
			Processes: webProcesses,
			CPU:       []world.CPUPoint{{At: now.Add(-launchedAgo), Percent: 12}},
		})
		if err != nil {
			return fmt.Errorf("instance web-%d: %w", i+1, err)
		}
		// The group launched its instances a day ago: metrics and the audit
		// history (history.go) agree with that.
		inst.LaunchTime = now.Add(-launchedAgo)
		env.Instances = append(env.Instances, inst.ID)
		w.Alarms = append(w.Alarms, &world.Alarm{
			Name:    "cpu-high-" + inst.ID,
			ARN:     fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:cpu-high-%s", opts.Region, opts.Account, inst.ID),
			Account: opts.Account, Region: opts.Region, Metric: "CPUUtilization", Namespace: "AWS/EC2",
			Dimensions: map[string]string{"InstanceId": inst.ID}, Threshold: 95, Comparison: "GreaterThanThreshold",
			Period: 5 * 60e9, EvaluationPeriods: 2, Statistic: "Average",
			Description: "CPU above 95% for 10 minutes (cryptomining trigger)",
		})
	}
	if opts.ScaleInAfter > 0 {
		if err := awsworld.Of(w).ScheduleScaleIn(DemoASG, now.Add(opts.ScaleInAfter), opts.Instances-1); err != nil {
			return fmt.Errorf("scale-in schedule: %w", err)
		}
	}
	return nil
}
