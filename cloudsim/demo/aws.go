// Package demo seeds the demo environments that 'firedrill sim serve' and
// the examples run against. Everything derives from the world's seed: the
// same seed always builds the same ids, keys and secrets.
package demo

import (
	"fmt"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Options tune the demo environment.
type Options struct {
	// Account is the AWS account id (default 111122223333).
	Account string
	// Region is the home region (default us-east-1).
	Region string
	// Instances is the size of the web autoscaling group (default 3).
	Instances int
	// ScaleInAfter schedules a scale-in by one instance this long after
	// seeding; zero means two hours, negative disables it.
	ScaleInAfter time.Duration
}

// AWSEnv describes what was seeded, for printing and for tests.
type AWSEnv struct {
	Account, Region          string
	AdminKeyID, AdminSecret  string
	ResponderKeyID           string
	ResponderSecret          string
	ASG                      string
	Instances                []string
	InstanceProfile, Role    string
	Buckets                  []string
	EvidenceBucket, Detector string
	SecurityGroup, VPC       string
}

// Fixed names of the demo environment.
const (
	DemoASG            = "web-asg"
	DemoRole           = "web-app-role"
	DemoProfile        = "web-app-profile"
	DemoEvidenceBucket = "firedrill-demo-forensics"
	DemoLogsBucket     = "firedrill-demo-logs"
	DemoTrail          = "firedrill-demo-trail"
)

func (o *Options) defaults() {
	if o.Account == "" {
		o.Account = "111122223333"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Instances == 0 {
		o.Instances = 3
	}
	if o.ScaleInAfter == 0 {
		o.ScaleInAfter = 2 * time.Hour
	}
}

// SeedAWS builds the AWS demo environment in w: an account with IAM users
// (an administrator, a least-privilege responder, two developers), an
// instance role, a VPC with an autoscaling group of instances, buckets
// (application data, logs, and a versioned object-lock evidence bucket), and
// GuardDuty enabled. CloudTrail is always on in the simulator.
func SeedAWS(w *world.World, opts Options) (*AWSEnv, error) {
	opts.defaults()
	w.Lock()
	defer w.Unlock()
	env := &AWSEnv{Account: opts.Account, Region: opts.Region, ASG: DemoASG, Role: DemoRole,
		InstanceProfile: DemoProfile, EvidenceBucket: DemoEvidenceBucket}
	w.AddAccountLocked("aws", opts.Account, "firedrill-demo", opts.Region)
	if err := seedIdentities(w, opts, env); err != nil {
		return nil, err
	}
	seedStorage(w, opts, env)
	if err := seedCompute(w, opts, env); err != nil {
		return nil, err
	}
	seedHistory(w, opts, env)
	// Audit and network logs land in the logs bucket, where a SIEM reads
	// them: a multi-region trail and the VPC's flow log.
	awsworld.Of(w).AddTrail(opts.Account, opts.Region, DemoTrail, DemoLogsBucket, true)
	awsworld.Of(w).AddFlowLog(opts.Account, opts.Region, env.VPC, "ALL", "arn:aws:s3:::"+DemoLogsBucket)
	det := &awsworld.Detector{ID: fmt.Sprintf("%016x%016x", w.IDRandLocked().Uint64(), w.IDRandLocked().Uint64()), Account: opts.Account,
		Region: opts.Region, Enabled: true, CreatedAt: w.Now()}
	awsworld.Of(w).Detectors.Put(det.ID, det)
	env.Detector = det.ID
	return env, nil
}

// responderPolicy is what an incident responder needs for a VM compromise,
// and no more: read everything, isolate, snapshot, protect, revoke, and
// remove what the attacker planted (its keys, its instances).
const responderPolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"Read","Effect":"Allow","Action":["ec2:Describe*","autoscaling:Describe*","iam:Get*","iam:List*",
   "cloudtrail:LookupEvents","guardduty:Get*","guardduty:List*","ssm:Describe*","ssm:Get*","ssm:List*",
   "cloudwatch:Get*","cloudwatch:Describe*","s3:Get*","s3:List*","sts:GetCallerIdentity"],"Resource":"*"},
 {"Sid":"Contain","Effect":"Allow","Action":["ec2:CreateSecurityGroup","ec2:AuthorizeSecurityGroup*",
   "ec2:RevokeSecurityGroup*","ec2:ModifyInstanceAttribute","ec2:ModifyNetworkInterfaceAttribute",
   "ec2:CreateSnapshot","ec2:CreateSnapshots","ec2:CreateTags","ec2:StopInstances",
   "ec2:DisassociateIamInstanceProfile","ec2:ReplaceIamInstanceProfileAssociation","ec2:DisassociateAddress",
   "autoscaling:SetInstanceProtection","autoscaling:EnterStandby","autoscaling:DetachInstances",
   "iam:PutRolePolicy","iam:UpdateAccessKey","iam:PutUserPolicy","ssm:SendCommand","s3:PutObject"],"Resource":"*"},
 {"Sid":"Eradicate","Effect":"Allow","Action":["iam:DeleteAccessKey","ec2:TerminateInstances"],"Resource":"*"}]}`

func seedIdentities(w *world.World, opts Options, env *AWSEnv) error {
	acct := opts.Account
	awsworld.Of(w).AddUser(acct, "admin", "arn:aws:iam::aws:policy/AdministratorAccess")
	admin, err := awsworld.Of(w).AddAccessKey("admin")
	if err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	env.AdminKeyID, env.AdminSecret = admin.ID, admin.Secret

	responder := awsworld.Of(w).AddUser(acct, "firedrill-responder")
	responder.Policies["firedrill-incident-response"] = responderPolicy
	rk, err := awsworld.Of(w).AddAccessKey("firedrill-responder")
	if err != nil {
		return fmt.Errorf("responder key: %w", err)
	}
	env.ResponderKeyID, env.ResponderSecret = rk.ID, rk.Secret

	for _, dev := range []string{"alice", "bob"} {
		awsworld.Of(w).AddUser(acct, dev, "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonEC2FullAccess")
		if _, err := awsworld.Of(w).AddAccessKey(dev); err != nil {
			return fmt.Errorf("%s key: %w", dev, err)
		}
	}
	// People sign in to the console; the administrator with MFA.
	for _, u := range []string{"admin", "alice", "bob"} {
		if err := awsworld.Of(w).SetLoginProfile(u, false); err != nil {
			return fmt.Errorf("%s login profile: %w", u, err)
		}
	}
	if err := awsworld.Of(w).EnableMFADevice("admin", "arn:aws:iam::"+acct+":mfa/admin"); err != nil {
		return fmt.Errorf("admin MFA device: %w", err)
	}
	awsworld.Of(w).AddUser(acct, "ci-deploy", "arn:aws:iam::aws:policy/AmazonS3FullAccess")
	if _, err := awsworld.Of(w).AddAccessKey("ci-deploy"); err != nil {
		return fmt.Errorf("ci-deploy key: %w", err)
	}

	role := awsworld.Of(w).AddRole(acct, DemoRole, "", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
	role.Policies["app-data-read"] = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["s3:GetObject","s3:ListBucket","s3:PutObject"],"Resource":["arn:aws:s3:::firedrill-demo-app-data","arn:aws:s3:::firedrill-demo-app-data/*"]},` +
		`{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}]}`)
	awsworld.Of(w).AddInstanceProfile(acct, DemoProfile, DemoRole)
	adminRole := awsworld.Of(w).AddRole(acct, "OrganizationAccountAccessRole",
		fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, acct),
		"arn:aws:iam::aws:policy/AdministratorAccess")
	adminRole.MaxSession = 12 * time.Hour
	return nil
}

func seedStorage(w *world.World, opts Options, env *AWSEnv) {
	now := w.Now()
	for _, b := range []struct {
		name    string
		version string
		lock    bool
		objects map[string]string
	}{
		{demoAppBucket, "", false, map[string]string{
			"customers/2026-11.csv": "id,name,email\n1,Ada Lovelace,ada@example.com\n2,Alan Turing,alan@example.com\n",
			"config/app.json":       `{"feature_flags":{"beta":true}}`,
		}},
		{DemoLogsBucket, "Enabled", false, map[string]string{"README.txt": "access logs land here\n"}},
		{DemoEvidenceBucket, "Enabled", true, nil},
	} {
		bk := &world.Bucket{Name: b.name, Account: opts.Account, Region: opts.Region, Created: now,
			Versioning: b.version, ObjectLock: b.lock, Objects: map[string][]*world.ObjectVersion{}, Tags: world.Tags{}}
		for _, key := range world.SortedKeys(b.objects) {
			data := []byte(b.objects[key])
			bk.Objects[key] = []*world.ObjectVersion{{Key: key, VersionID: "null", ETag: etag(data),
				ContentType: "application/octet-stream", Data: data, LastModified: now}}
		}
		w.Buckets.Put(b.name, bk)
		env.Buckets = append(env.Buckets, b.name)
	}
	awsworld.Of(w).SetBucketLogging(demoAppBucket, &awsworld.BucketLogging{TargetBucket: DemoLogsBucket, TargetPrefix: "s3-access/"})
}
