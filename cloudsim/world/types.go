package world

import "time"

// Account is an AWS account, Azure subscription or GCP project.
type Account struct {
	ID     string
	Name   string
	Cloud  string // "aws", "azure", "gcp"
	Region string // home region
}

// Tags are key/value labels on a resource.
type Tags map[string]string

// VPC is a virtual network.
type VPC struct {
	ID, Account, Region, CIDR string
	Tags                      Tags
}

// Subnet is a subnet of a VPC in one availability zone.
type Subnet struct {
	ID, VPC, AZ, CIDR string
	// ACL is the network ACL the subnet is associated with, through
	// ACLAssociation; both are empty until the VPC's ACLs are first used
	// (nacl.go), which means the default allow-all ACL.
	ACL, ACLAssociation string
}

// Instance states, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// StateCode maps an instance state to EC2's numeric code.
func StateCode(state string) int {
	switch state {
	case StatePending:
		return 0
	case StateRunning:
		return 16
	case StateShuttingDown:
		return 32
	case StateTerminated:
		return 48
	case StateStopping:
		return 64
	case StateStopped:
		return 80
	}
	return 0
}

// BlockDevice attaches a volume to an instance at a device name.
type BlockDevice struct {
	Device              string
	VolumeID            string
	DeleteOnTermination bool
}

// Process is a process on a VM, the volatile evidence run-command collects.
type Process struct {
	PID     int
	User    string
	Command string
	CPU     float64 // percent
}

// CPUPoint sets an instance's CPU utilisation from At on.
type CPUPoint struct {
	At      time.Time
	Percent float64
}

// Instance is a virtual machine.
type Instance struct {
	ID, Account, Region, AZ string
	Type, ImageID, KeyName  string
	State                   string
	StateReason             string
	LaunchTime              time.Time
	VPC, Subnet             string
	PrivateIP, PublicIP     string
	ENIs                    []string // ENI IDs, primary first
	BlockDevices            []BlockDevice
	Tags                    Tags
	DisableAPITermination   bool
	DisableAPIStop          bool
	ShutdownBehavior        string // "stop" or "terminate"
	ASG                     string // name of owning autoscaling group, if any
	SSMAgent                bool   // the SSM agent is installed and registered
	Platform                string // "Linux" or "Windows"
	MemoryGiB               int
	Processes               []Process
	CPU                     []CPUPoint
	TerminatedAt            time.Time
}

// CPUAt returns the instance's CPU utilisation level at t (the latest point
// at or before t); metrics.go adds per-sample noise on top.
func (i *Instance) CPUAt(t time.Time) float64 {
	v := 0.0
	for _, p := range i.CPU {
		if p.At.After(t) {
			break
		}
		v = p.Percent
	}
	return v
}

// Volume is a block-storage disk.
type Volume struct {
	ID, Account, Region, AZ string
	SizeGiB                 int
	Type                    string
	State                   string // "available", "in-use", "deleted"
	Encrypted               bool
	KMSKeyID                string
	CreateTime              time.Time
	Attached                string // instance ID
	Device                  string
	Tags                    Tags
	SnapshotID              string
}

// Snapshot is a point-in-time copy of a volume. Its state is derived from
// time: pending until CompleteAt, then completed.
type Snapshot struct {
	ID, Account, Region string
	VolumeID            string
	VolumeSizeGiB       int
	Description         string
	StartTime           time.Time
	CompleteAt          time.Time
	Encrypted           bool
	Tags                Tags
	CreatedBy           string // principal ARN
	Deleted             bool
}

// State reports "pending" or "completed" at t.
func (s *Snapshot) State(t time.Time) string {
	if t.Before(s.CompleteAt) {
		return "pending"
	}
	return "completed"
}

// Progress reports completion as a percentage at t.
func (s *Snapshot) Progress(t time.Time) int {
	if !t.Before(s.CompleteAt) {
		return 100
	}
	total := s.CompleteAt.Sub(s.StartTime)
	if total <= 0 {
		return 100
	}
	return int(99 * float64(t.Sub(s.StartTime)) / float64(total))
}

// ENI is a network interface.
type ENI struct {
	ID, Account, Region, AZ string
	VPC, Subnet             string
	Instance                string
	DeviceIndex             int
	PrivateIP, PublicIP     string
	MAC                     string
	Groups                  []string
	Description             string
	AttachmentID            string
	Status                  string // "in-use", "available"
	DeleteOnTermination     bool
	Tags                    Tags
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
	Tags                     Tags
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
	Tags                         Tags
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
	Tags                         Tags
}

// Session is a set of temporary credentials for a role.
type Session struct {
	AccessKeyID, Secret, Token string
	Account                    string
	Role                       string // role name
	SessionName                string
	IssuedAt, Expires          time.Time
	Source                     string // "instance:i-…", "assume-role:<caller arn>"
	SourceIP                   string // where the credentials were first used from
}

// ObjectVersion is one version of an object.
type ObjectVersion struct {
	Key, VersionID, ETag, ContentType string
	Data                              []byte
	LastModified                      time.Time
	DeleteMarker                      bool
	Metadata                          map[string]string
}

// PublicAccessBlock mirrors S3's four switches.
type PublicAccessBlock struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// Bucket is an object-storage bucket.
type Bucket struct {
	Name, Account, Region string
	Created               time.Time
	Versioning            string // "", "Enabled", "Suspended"
	ObjectLock            bool
	ObjectLockConfig      string // raw XML of the rule, if any
	Policy                string // JSON, "" if none
	PublicAccessBlock     *PublicAccessBlock
	Objects               map[string][]*ObjectVersion // key -> versions, newest last
	Tags                  Tags
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
	ScaleIn                    []ScaleIn
	CreatedTime                time.Time
	Tags                       Tags
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

// ScaleIn is a scheduled change of desired capacity.
type ScaleIn struct {
	At      time.Time
	Desired int
}

// AuditEvent is one API call as the cloud's audit log records it.
type AuditEvent struct {
	ID           string
	Time         time.Time
	DeliverAt    time.Time // when it becomes visible to log queries
	Cloud        string
	Account      string
	Region       string
	Service      string // e.g. "ec2.amazonaws.com"
	Operation    string // e.g. "StopInstances"
	PrincipalARN string
	PrincipalID  string
	UserName     string
	IdentityType string // "IAMUser", "AssumedRole", "Root", "Anonymous"
	AccessKeyID  string
	SourceIP     string
	UserAgent    string
	Resources    []AuditResource
	ReadOnly     bool
	ErrorCode    string
	ErrorMessage string
	RequestID    string
	Params       map[string]string
}

// AuditResource names a resource an audited call touched.
type AuditResource struct{ Type, Name string }

// Finding is a managed detector's alert.
type Finding struct {
	ID, Detector, Account, Region string
	Type                          string
	Severity                      float64
	Title, Description            string
	ResourceType                  string // "Instance", "AccessKey", "S3Bucket"
	ResourceID                    string
	AccessKeyID, PrincipalARN     string
	RemoteIP, Domain              string
	RemotePort                    int    // network-connection findings
	API, APIService               string // API-call findings: operation and event source
	FirstSeen, LastSeen           time.Time
	CreatedAt, UpdatedAt          time.Time // CreatedAt: when it becomes visible
	Count                         int
	Archived                      bool
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

// Alarm is a metric alarm (CloudWatch).
type Alarm struct {
	Name, ARN, Account, Region string
	Metric, Namespace          string
	Dimensions                 map[string]string
	Threshold                  float64
	Comparison                 string
	Period                     time.Duration
	EvaluationPeriods          int
	Statistic                  string
	Description                string
}
