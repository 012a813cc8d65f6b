package awsworld

import "github.com/firedrill-ir/firedrill/cloudsim/world"

// Ext is the extension-store key of the AWS state.
const Ext = "aws"

// State is everything AWS-specific in the world: IAM, EC2's security
// groups, addresses and network ACLs, Auto Scaling, SSM, GuardDuty's
// detectors. Its resources are in Tables: front ends look them up and list
// them in id order, and change them through State's methods (seeders and
// tests may Put what they build by hand).
type State struct {
	w *world.World

	SecurityGroups world.Table[*SecurityGroup]
	NetworkACLs    world.Table[*NetworkACL]
	Addresses      world.Table[*Address]
	Profiles       world.Table[*InstanceProfile] // by name
	Associations   world.Table[*ProfileAssociation]
	Users          world.Table[*User] // by name
	AccessKeys     world.Table[*AccessKey]
	Roles          world.Table[*Role] // by name
	Sessions       world.Table[*Session]
	ASGs           world.Table[*ASG]
	Detectors      world.Table[*Detector]
	Commands       world.Table[*Command]
	FlowLogs       world.Table[*FlowLog]
	Trails         world.Table[*Trail] // by name
	Groups         world.Table[*Group] // by name
	Uploads        world.Table[*MultipartUpload]

	// subnetACLs are the network ACL associations of subnets, by subnet id
	// (nacl.go).
	subnetACLs map[string]*NACLAssociation
	// policyCache holds parsed policy documents by text (see parsedPolicy).
	policyCache map[string]*world.Policy
	// iamLags and keyLags hold what authorization sees of users' and
	// roles' policies ("user/<name>", "role/<name>") and of access keys
	// (nil: deleted) while changes to them propagate (propagation.go).
	iamLags *world.Lags[iamGrants]
	keyLags *world.Lags[*AccessKey]
	// userData is instances' user data by instance id (ec2more.go).
	userData map[string]string
	// mfa and logins are users' MFA devices and login profiles by user
	// name (groups.go).
	mfa    map[string][]MFADevice
	logins map[string]*LoginProfile
	// bucketLogging is S3 server access logging by bucket (s3more.go).
	bucketLogging map[string]*BucketLogging
}

// Of returns the world's AWS state, creating it on first use. Call it, and
// every method of the state, with the world locked.
func Of(w *world.World) *State {
	return w.ExtLocked(Ext, func() any {
		return &State{w: w,
			iamLags:    world.NewLags[iamGrants](propagationAWSIAM),
			keyLags:    world.NewLags[*AccessKey](propagationAWSIAM),
			subnetACLs: map[string]*NACLAssociation{},
		}
	}).(*State)
}
