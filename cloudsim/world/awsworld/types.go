package awsworld

import (
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// StateCode maps an instance state to EC2's numeric code.
func StateCode(state string) int {
	switch state {
	case world.StatePending:
		return 0
	case world.StateRunning:
		return 16
	case world.StateShuttingDown:
		return 32
	case world.StateTerminated:
		return 48
	case world.StateStopping:
		return 64
	case world.StateStopped:
		return 80
	}
	return 0
}

// Rule is one security-group permission.
type Rule struct {
	Protocol string // "-1", "tcp", "udp", "icmp"
	FromPort int
	ToPort   int
	CIDRs    []string
	Groups   []string // referenced security groups
	RuleID   string
}

// SecurityGroup is a stateful firewall attached to ENIs.
type SecurityGroup struct {
	ID, Account, Region, VPC string
	Name, Description        string
	Ingress, Egress          []Rule
	Tags                     world.Tags
	CreatedAt                time.Time
}

// Address is an Elastic IP.
type Address struct {
	AllocationID, AssociationID string
	Account, Region             string
	PublicIP                    string
	Instance, ENI               string
	PrivateIP                   string
}

// InstanceProfile carries a role for instances.
type InstanceProfile struct {
	Name, ID, ARN, Account, Path string
	Roles                        []string // role names
	CreateDate                   time.Time
}

// ProfileAssociation binds an instance profile to an instance.
type ProfileAssociation struct {
	ID, Instance, ProfileARN string
	State                    string // "associated", "disassociated"
}

// User is an IAM user.
type User struct {
	Name, ID, ARN, Account, Path string
	CreateDate                   time.Time
	Policies                     map[string]string // inline: name -> JSON document
	Managed                      []string          // attached managed policy ARNs
	Tags                         world.Tags
}

// AccessKey is a long-term credential of a user.
type AccessKey struct {
	ID, Secret, User, Account string
	Status                    string // "Active", "Inactive"
	CreateDate                time.Time
	LastUsed                  time.Time
	LastUsedService           string
	LastUsedRegion            string
}

// Role is an assumable identity.
type Role struct {
	Name, ID, ARN, Account, Path string
	TrustPolicy                  string
	CreateDate                   time.Time
	MaxSession                   time.Duration
	Policies                     map[string]string // inline
	Managed                      []string
	Tags                         world.Tags
}

// Session is a set of temporary credentials for a role.
type Session struct {
	AccessKeyID, Secret, Token string
	Account                    string
	Role                       string // role name
	// User is the IAM user of a GetSessionToken session ("" for a role's):
	// the session acts as the user, with the user's policies.
	User              string
	SessionName       string
	IssuedAt, Expires time.Time
	Source            string // "instance:i-…", "assume-role:<caller arn>"
	SourceIP          string // where the credentials were first used from
}

// ASGInstance is an instance's membership in a scaling group.
type ASGInstance struct {
	InstanceID     string
	LifecycleState string // "InService", "Standby", "Terminating", "Detached"
	Protected      bool
	HealthStatus   string // "Healthy" or "Unhealthy"
	AZ             string
	// Generation is the generation of the group's launch template or
	// configuration the instance was launched from (ASG.Generation at
	// launch); the termination policies' "oldest launch template" picks the
	// lowest.
	Generation int
	// failingSince is when the instance started failing its health check,
	// zero while it passes (asg_health.go).
	failingSince time.Time
}

// ASG is an autoscaling group.
type ASG struct {
	Name, ARN, Account, Region string
	Min, Max, Desired          int
	LaunchTemplate             string
	InstanceType               string
	Profile                    string // instance profile name for new instances
	Subnets                    []string
	Members                    []*ASGInstance
	ScaleIn                    []world.ScaleIn
	CreatedTime                time.Time
	Tags                       world.Tags
	// HealthCheckType is HealthCheckEC2 (the default) or HealthCheckELB.
	HealthCheckType string
	// HealthCheckGracePeriod is how long after launch an instance is kept
	// in service before a failed health check may replace it.
	HealthCheckGracePeriod time.Duration
	// HealthCheckPort is the port the load balancer's health check probes
	// on an instance of a group with HealthCheckType ELB, from inside the
	// VPC (the simulator has no load balancer of its own; see asg_health.go).
	HealthCheckPort int
	// TargetGroupARNs and LoadBalancerNames are echoed as given.
	TargetGroupARNs, LoadBalancerNames []string
	// TerminationPolicies are applied in order after Availability Zone
	// balancing; default ["Default"] (asg.go).
	TerminationPolicies []string
	// NewInstancesProtected: instances the group launches are protected
	// from scale-in.
	NewInstancesProtected bool
	// Generation counts launch template or configuration changes; members
	// remember the one they were launched from.
	Generation int
	// Launch is what the group launches replacements and new capacity
	// from: the spec of the first instance launched into the group (the
	// simulator does not model launch templates' contents).
	Launch *LaunchSpec
}

// Detector is a managed threat-detection service instance (GuardDuty).
type Detector struct {
	ID, Account, Region string
	Enabled             bool
	CreatedAt           time.Time
}

// Command is a run-command invocation on an instance (SSM SendCommand).
type Command struct {
	ID, Instance, Document string
	Account, Region        string
	Params                 map[string][]string
	Comment                string
	RequestedAt            time.Time
	StartedAt              time.Time // when the agent began executing; zero until then
	CompleteAt             time.Time
	Status                 string // derived at read time when zero
	StatusDetails          string // SSM's finer status: "DeliveryTimedOut", "Undeliverable", …
	Output                 string
	Error                  string
	OutputBucket           string
	OutputPrefix           string
	ExitCode               int
	RequestedBy            string
}
