package providers

import "time"

// Instance is a VM as the responder records it before touching anything:
// enough to decide containment (scaling group, identity, NICs) and to roll
// back later.
type Instance struct {
	ID, Name, State, Type string
	Account, Region, Zone string
	VPC, Subnet           string
	PrivateIP, PublicIP   string
	LaunchTime            time.Time
	Tags                  map[string]string
	NICs                  []NIC
	Disks                 []Disk
	Identity              *InstanceIdentity // nil when no identity is attached
	ScalingGroup          string            // "" when not in a scaling group
	ScalingLifecycle      string            // e.g. InService, Standby
	ScaleInProtected      bool
	TerminationProtected  bool
	ShutdownBehavior      string // "stop" or "terminate" when known
	// ScalingHealthCheck is what makes the scaling group replace a member
	// (ScalingHealthInstance, ScalingHealthLoadBalancer), "" when not in
	// a group or not known.
	ScalingHealthCheck string
	// Gone: the instance is terminated or being terminated (its id still
	// answers for a while, as EC2's does): there is nothing left to act on
	// or to check.
	Gone bool
	// Warnings lists metadata that could not be read (for example an
	// attribute the caller may not describe); the rest is still valid.
	Warnings []string
}

// Scaling health checks (Instance.ScalingHealthCheck).
const (
	// ScalingHealthInstance: the group replaces a member whose VM status
	// fails (AWS HealthCheckType EC2).
	ScalingHealthInstance = "instance"
	// ScalingHealthLoadBalancer: the group also replaces a member that
	// stops answering its load balancer's health check over the network
	// (AWS HealthCheckType ELB). Isolating a member makes it fail, and
	// scale-in protection does not stop the replacement: moving it out of
	// service (standby) or out of the group does.
	ScalingHealthLoadBalancer = "load_balancer"
)

// NIC is a network interface of an instance.
type NIC struct {
	ID        string
	PrivateIP string
	PublicIP  string
	Groups    []string // security groups / NSGs / firewall tags applied to it
	Primary   bool
}

// Disk is a block device attached to an instance.
type Disk struct {
	ID                  string
	Device              string
	SizeGiB             int
	DeleteOnTermination bool
	Encrypted           bool
}

// InstanceIdentity is the cloud identity a VM runs as (AWS instance profile
// and role, Azure managed identity, GCP service account).
type InstanceIdentity struct {
	ProfileARN    string
	AssociationID string
	RoleName      string
	RoleARN       string
}

// Evidence kinds.
const (
	EvidenceDiskSnapshot  = "disk-snapshot"
	EvidenceMemory        = "memory"
	EvidenceCommandOutput = "command-output"
	EvidenceAuditLog      = "audit-log"
	EvidenceMetadata      = "metadata"
)

// Evidence is one collected artifact, as it goes into the evidence manifest.
type Evidence struct {
	Kind        string // one of the Evidence* kinds
	ID          string // cloud id of the artifact (snapshot id, object key, command id)
	Source      string // what it was taken from (volume id, instance id)
	Location    string // where it lives (snapshot ARN, s3://bucket/key)
	SHA256      string // hex digest when the bytes are readable; "" for snapshots
	Size        int64  // bytes
	CollectedBy string // principal ARN that collected it
	CollectedAt time.Time
	State       string // e.g. "pending", "completed"
	Tags        map[string]string
}

// AuditEvent is one entry of the cloud's audit log.
type AuditEvent struct {
	ID        string
	Time      time.Time
	Service   string // e.g. ec2.amazonaws.com
	Operation string // e.g. StopInstances
	Principal string // ARN or user name of the caller
	// Session names the caller's session where the cloud has one (the
	// session name of an AWS assumed role: an EC2 role session is named
	// after its instance).
	Session string
	// Region is where the call was made (an attacker launches where the
	// victim does not look).
	Region string
	// Created are the resources the call created, typed by the provider
	// (CreateAccessKey's key, RunInstances' instances, a firewall rule):
	// what eradication removes.
	Created     []ResourceRef
	AccessKeyID string
	SourceIP    string
	Resources   []string
	ErrorCode   string
	ReadOnly    bool
	Raw         string // the cloud's own record (CloudTrail JSON)
}

// AuditQuery filters the audit log. Zero fields do not filter. Providers push
// one filter down to the cloud where it can only take one (CloudTrail), and
// apply the rest locally.
type AuditQuery struct {
	Start, End time.Time
	Resource   string
	Principal  string
	// Role keeps the calls made as an identity: sessions of an AWS role,
	// the Azure managed identity, the GCP service account.
	Role string
	// AllRegions reads every region's log where logs are regional (AWS
	// CloudTrail Event history).
	AllRegions  bool
	AccessKeyID string
	Operation   string
	Max         int // 0 means no limit
}

// Finding is a managed detector's alert (GuardDuty, Defender, SCC).
type Finding struct {
	ID       string
	Type     string
	Severity float64
	Title    string
	// Resource is what the finding is about, typed by the provider (a
	// GuardDuty "Instance" is a vm, an "AccessKey" an access_key, …).
	Resource ResourceRef
	// ResourceType and ResourceID are the cloud's own words for it.
	ResourceType string
	ResourceID   string
	AccessKeyID  string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Count        int
}

// CommandResult is the outcome of a command run on an instance.
type CommandResult struct {
	ID             string
	Instance       string
	Status         string // cloud status, e.g. Success, Failed, TimedOut
	Stdout, Stderr string
	ExitCode       int
	OutputLocation string // where the full output was written, if anywhere
}

// CallerIdentity is who the provider acts as.
type CallerIdentity struct {
	Account string
	ARN     string
	UserID  string
}

// IsolateOptions tune network isolation.
type IsolateOptions struct {
	// AllowCIDRs may still reach the instance (e.g. the examiner's network);
	// everything else is cut in both directions.
	AllowCIDRs []string
	// CaseID is written into the tags of the groups the provider creates.
	CaseID string
	// DetachPublicIPs also disassociates re-assignable public IPs (AWS
	// Elastic IPs). An ephemeral public IP cannot be removed by API on AWS;
	// with no rules left it carries no traffic anyway.
	DetachPublicIPs bool
}

// IsolationResult records what isolation changed, for the journal and for
// a later release.
type IsolationResult struct {
	ForensicGroup   string // the final no-traffic group
	TransitionGroup string // the all-open group used to untrack flows
	// Additive: the cloud's groups add up (GCP network tags, whose
	// priority-0 deny wins over every allow) instead of replacing each
	// other (security groups, NSGs), so isolation holds while the
	// forensic group is present, whatever else is.
	Additive bool
	NICs     []NICIsolation
	// DetachedAddresses are the public IPs that were disassociated.
	DetachedAddresses []string
}

// NICIsolation is one interface moved into isolation.
type NICIsolation struct {
	ID             string
	PreviousGroups []string
}

// ScalingMode chooses how an instance is taken out of its scaling group's
// hands.
type ScalingMode int

const (
	// ScalingProtect marks it protected from scale-in; it stays in service.
	ScalingProtect ScalingMode = iota
	// ScalingStandby protects it and moves it to standby: out of load
	// balancing, not replaced by health checks.
	ScalingStandby
	// ScalingDetach removes it from the group altogether.
	ScalingDetach
)

// ScalingOptions tune ProtectFromScaling.
type ScalingOptions struct {
	Mode ScalingMode
	// DecrementDesired keeps the group's size instead of launching a
	// replacement (standby and detach only).
	DecrementDesired bool
}

// ScalingResult says what happened; Group is "" when the instance is not in a
// scaling group (nothing to do).
type ScalingResult struct {
	Group          string
	PreviousState  string
	WasProtected   bool
	LifecycleState string
}

// TerminationProtection records the state before ProtectFromTermination, so
// a release can restore it.
type TerminationProtection struct {
	Instance string
	// PreviousDeleteOnTermination maps volume id to its previous flag.
	PreviousDeleteOnTermination map[string]bool
}

// StopOptions tune Stop.
type StopOptions struct {
	Hibernate bool // keep RAM on disk where the instance supports it
	Force     bool
}

// DetachMode chooses how an instance loses its identity.
type DetachMode int

const (
	// DetachReplace swaps the identity for a deny-all one, so metadata
	// endpoints hand out useless credentials and the slot stays occupied.
	DetachReplace DetachMode = iota
	// DetachRemove removes the identity outright.
	DetachRemove
)

// IdentityDetachment records what DetachInstanceIdentity changed.
type IdentityDetachment struct {
	Instance           string
	AssociationID      string // the association after the change ("" when removed)
	PreviousProfileARN string // "" when the instance had no identity
	NewProfileARN      string
	// Roles behind the previous identity; their sessions still need revoking.
	Roles []string
}

// RevocationMethod is how a cloud cut a principal's issued credentials.
type RevocationMethod string

// Revocation methods.
const (
	// RevokeTokenIssueTime denies every session issued before a cut-off
	// (AWS: a Deny on aws:TokenIssueTime in the role's policy).
	RevokeTokenIssueTime RevocationMethod = "token-issue-time-deny"
	// RevokeDisablePrincipal disables the principal outright (a GCP
	// service account): every token of it, on every workload, dies.
	RevokeDisablePrincipal RevocationMethod = "disable-principal"
	// RevokeRemoveGrants deletes the principal's grants (Azure role
	// assignments): its tokens stay valid but authorize nothing.
	RevokeRemoveGrants RevocationMethod = "remove-grants"
)

// Revocation records what a SessionRevoker or GrantRemover did.
type Revocation struct {
	// Principal is who was revoked.
	Principal ResourceRef
	Method    RevocationMethod
	// Cutoff: credentials issued before it stop working (zero when the
	// method does not depend on issue time).
	Cutoff time.Time
	// BlastRadius lists the other workloads known to lose their
	// credentials with the revoke, when the method is all-or-nothing (GCP
	// disables the whole service account), the compromised one included.
	BlastRadius []ResourceRef
	// Propagation is the documented delay before the cut holds everywhere
	// (IAM policy changes are eventually consistent).
	Propagation time.Duration
	// Grants is how many grants were removed (RevokeRemoveGrants).
	Grants int
	// Detail names what was written (the deny policy's name, …).
	Detail string
}

// CommandOptions tune RunCommand.
type CommandOptions struct {
	OutputBucket string // also write full output to this bucket when set
	OutputPrefix string
	Timeout      time.Duration // cloud-side execution timeout and our wait; default 10 min
	Comment      string
}

// MemoryOptions tune CaptureMemory.
type MemoryOptions struct {
	Prefix  string        // object key prefix; default firedrill/memory
	Timeout time.Duration // default 2 h: large RAM takes long
	CaseID  string
}

// ObjectInfo describes a stored object and its digest.
type ObjectInfo struct {
	Bucket, Key string
	VersionID   string
	Size        int64
	SHA256      string
	ETag        string
}

// Alarm states, as CloudWatch names them; other clouds map onto these.
const (
	AlarmStateAlarm            = "ALARM"
	AlarmStateOK               = "OK"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// Alarm is one metric alarm and its current state.
type Alarm struct {
	Name  string
	State string // AlarmStateAlarm, AlarmStateOK or AlarmStateInsufficientData
	// Resource is what the alarm watches, typed by the provider (zero when
	// it watches no single resource).
	Resource   ResourceRef
	Metric     string // e.g. CPUUtilization
	Threshold  float64
	Comparison string // the cloud's operator name, e.g. GreaterThanThreshold
	// For is how long the metric must breach before the alarm fires
	// (period x evaluation periods); zero when unknown.
	For            time.Duration
	StateChangedAt time.Time
	Reason         string
}

// AccessKeyInfo describes a long-term key.
type AccessKeyInfo struct {
	ID, User, Status string
	CreatedAt        time.Time
	LastUsedAt       time.Time
	LastUsedService  string
}
