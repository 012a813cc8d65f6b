package awsworld

import "github.com/firedrill-ir/firedrill/cloudsim/world"

// Ext is the extension-store key of the AWS state.
const Ext = "aws"

// State is everything AWS-specific in the world: IAM, EC2's security
// groups, addresses and network ACLs, Auto Scaling, SSM, GuardDuty's
// detectors. Its maps are exported for the wire front ends and tests; they
// must only be touched with the world locked.
type State struct {
	w *world.World

	SecurityGroups map[string]*SecurityGroup
	NetworkACLs    map[string]*NetworkACL
	Addresses      map[string]*Address
	Profiles       map[string]*InstanceProfile // by name
	Associations   map[string]*ProfileAssociation
	Users          map[string]*User // by name
	AccessKeys     map[string]*AccessKey
	Roles          map[string]*Role // by name
	Sessions       map[string]*Session
	ASGs           map[string]*ASG
	Detectors      map[string]*Detector
	Commands       map[string]*Command

	// subnetACLs are the network ACL associations of subnets, by subnet id
	// (nacl.go).
	subnetACLs map[string]*NACLAssociation
	// policyCache holds parsed policy documents by text (see parsedPolicy).
	policyCache map[string]*world.Policy
	// iamLags and keyLags hold what authorization sees of users' and
	// roles' policies ("user/<name>", "role/<name>") and of access keys
	// (nil: deleted) while changes to them propagate (aws_propagation.go).
	iamLags *world.Lags[iamGrants]
	keyLags *world.Lags[*AccessKey]
}

// Of returns the world's AWS state, creating it on first use. Call it, and
// every method of the state, with the world locked.
func Of(w *world.World) *State {
	return w.ExtLocked(Ext, func() any {
		return &State{w: w,
			iamLags:        world.NewLags[iamGrants](propagationAWSIAM),
			keyLags:        world.NewLags[*AccessKey](propagationAWSIAM),
			SecurityGroups: map[string]*SecurityGroup{},
			Addresses:      map[string]*Address{},
			Profiles:       map[string]*InstanceProfile{},
			Associations:   map[string]*ProfileAssociation{},
			Users:          map[string]*User{},
			AccessKeys:     map[string]*AccessKey{},
			Roles:          map[string]*Role{},
			Sessions:       map[string]*Session{},
			ASGs:           map[string]*ASG{},
			Detectors:      map[string]*Detector{},
			Commands:       map[string]*Command{},
			NetworkACLs:    map[string]*NetworkACL{},
			subnetACLs:     map[string]*NACLAssociation{},
		}
	}).(*State)
}
