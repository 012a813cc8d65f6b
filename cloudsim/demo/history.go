package demo

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// seedHistory writes a day of ordinary management activity into the audit
// log, already delivered, so that log queries against a fresh environment
// show a realistic baseline rather than nothing (and an investigation has
// normal activity to tell the attack apart from).
func seedHistory(w *world.World, opts Options, env *AWSEnv) {
	now := w.Now()
	user := func(name string) (arn, id, key string) {
		u := awsworld.Of(w).Users.Lookup(name)
		for _, k := range awsworld.Of(w).AccessKeys.Keys() {
			if awsworld.Of(w).AccessKeys.Lookup(k).User == name {
				key = k
				break
			}
		}
		return u.ARN, u.ID, key
	}
	type call struct {
		ago      time.Duration
		who      string
		service  string
		op       string
		readOnly bool
		resource world.AuditResource
	}
	calls := []call{
		{26 * time.Hour, "admin", "iam.amazonaws.com", "CreateUser", false, world.AuditResource{Type: "AWS::IAM::User", Name: "alice"}},
		{26 * time.Hour, "admin", "iam.amazonaws.com", "CreateUser", false, world.AuditResource{Type: "AWS::IAM::User", Name: "bob"}},
		{25 * time.Hour, "admin", "iam.amazonaws.com", "CreateRole", false, world.AuditResource{Type: "AWS::IAM::Role", Name: DemoRole}},
		{25 * time.Hour, "admin", "s3.amazonaws.com", "CreateBucket", false, world.AuditResource{Type: "AWS::S3::Bucket", Name: DemoEvidenceBucket}},
		{24 * time.Hour, "admin", "autoscaling.amazonaws.com", "CreateAutoScalingGroup", false, world.AuditResource{Type: "AWS::AutoScaling::AutoScalingGroup", Name: DemoASG}},
		{20 * time.Hour, "alice", "ec2.amazonaws.com", "DescribeInstances", true, world.AuditResource{}},
		{9 * time.Hour, "ci-deploy", "s3.amazonaws.com", "PutBucketVersioning", false, world.AuditResource{Type: "AWS::S3::Bucket", Name: "firedrill-demo-logs"}},
		{3 * time.Hour, "bob", "ec2.amazonaws.com", "DescribeSecurityGroups", true, world.AuditResource{}},
		{2 * time.Hour, "alice", "autoscaling.amazonaws.com", "DescribeAutoScalingGroups", true, world.AuditResource{}},
		{40 * time.Minute, "bob", "ec2.amazonaws.com", "DescribeInstances", true, world.AuditResource{}},
		{15 * time.Minute, "alice", "sts.amazonaws.com", "GetCallerIdentity", true, world.AuditResource{}},
	}
	for _, c := range calls {
		arn, id, key := user(c.who)
		at := now.Add(-c.ago)
		ev := &world.AuditEvent{
			ID: w.UUIDLocked(), Time: at, DeliverAt: at.Add(5 * time.Minute), Cloud: "aws",
			Account: opts.Account, Region: opts.Region, Service: c.service, Operation: c.op,
			PrincipalARN: arn, PrincipalID: id, UserName: c.who, IdentityType: "IAMUser", AccessKeyID: key,
			SourceIP: "198.51.100.23", UserAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
			ReadOnly: c.readOnly,
		}
		ev.RequestID = ev.ID
		if c.resource.Name != "" {
			ev.Resources = []world.AuditResource{c.resource}
		}
		w.RecordAuditLocked(ev)
	}
	// The autoscaling group launched its instances a day ago.
	for _, id := range env.Instances {
		at := now.Add(-24 * time.Hour)
		ev := &world.AuditEvent{ID: w.UUIDLocked(), Time: at, DeliverAt: at.Add(5 * time.Minute), Cloud: "aws",
			Account: opts.Account, Region: opts.Region, Service: "ec2.amazonaws.com", Operation: "RunInstances",
			PrincipalARN: fmt.Sprintf("arn:aws:sts::%s:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling", opts.Account),
			IdentityType: "AssumedRole", UserName: "AWSServiceRoleForAutoScaling", SourceIP: "autoscaling.amazonaws.com",
			UserAgent: "autoscaling.amazonaws.com", Resources: []world.AuditResource{{Type: "AWS::EC2::Instance", Name: id}}}
		ev.RequestID = ev.ID
		w.RecordAuditLocked(ev)
	}
}
