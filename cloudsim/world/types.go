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

// Instance is a virtual machine: an EC2 instance, an Azure VM or a GCE
// instance, whose cloud-specific side lives in the cloud's state package.
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
	// DisableAPITermination, DisableAPIStop and ShutdownBehavior are EC2's
	// attributes: only awsworld acts on them.
	DisableAPITermination bool
	DisableAPIStop        bool
	ShutdownBehavior      string // "stop" or "terminate"
	// ASG is the group the instance belongs to: an Auto Scaling group's
	// name, an Azure scale set's id; "" if none.
	ASG          string
	SSMAgent     bool   // the SSM agent is installed and registered (AWS)
	Platform     string // "Linux" or "Windows"
	MemoryGiB    int
	Processes    []Process
	CPU          []CPUPoint
	TerminatedAt time.Time
	// HaltedAt is when the instance was first stopped or shut down: compute
	// is billed from LaunchTime until then (a stopped instance bills only
	// its disks). Zero while it has never stopped.
	HaltedAt time.Time
}

// ComputeHours is how long the instance has been billed for compute at
// now: from launch until it first stopped or shut down.
func (i *Instance) ComputeHours(now time.Time) float64 {
	end := now
	if !i.HaltedAt.IsZero() {
		end = i.HaltedAt
	}
	if end.Before(i.LaunchTime) {
		return 0
	}
	return end.Sub(i.LaunchTime).Hours()
}

// Halt records the first stop or shutdown.
func (i *Instance) Halt(at time.Time) {
	if i.HaltedAt.IsZero() {
		i.HaltedAt = at
	}
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
	// Sample marks a sample finding a caller asked for (GuardDuty
	// CreateSampleFindings): not evidence of anything.
	Sample bool
}

// Alarm is a metric alarm: a CloudWatch alarm or an Azure Monitor metric
// alert (Namespace tells which); detectors evaluate both.
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
