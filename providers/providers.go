package providers

import (
	"context"
	"time"
)

// Compute acts on VMs and their disks.
type Compute interface {
	// DescribeInstance records the instance: NICs and groups, disks, identity,
	// scaling group and protection flags.
	DescribeInstance(ctx context.Context, id string) (*Instance, error)
	// SnapshotDisks starts crash-consistent snapshots of every disk of the
	// instance, tagged with tags. The returned evidence is usually pending.
	SnapshotDisks(ctx context.Context, instanceID string, tags map[string]string) ([]Evidence, error)
	// WaitForSnapshots polls until every snapshot is complete or timeout (of
	// Sleeper time) passes; it returns their final evidence records.
	WaitForSnapshots(ctx context.Context, ids []string, timeout time.Duration) ([]Evidence, error)
	// ProtectFromTermination blocks API termination, makes a guest shutdown
	// stop rather than terminate, and keeps every disk if the VM goes anyway.
	ProtectFromTermination(ctx context.Context, instanceID string) (*TerminationProtection, error)
	// ProtectFromScaling keeps the scaling group from terminating the VM.
	ProtectFromScaling(ctx context.Context, instanceID string, opts ScalingOptions) (*ScalingResult, error)
	// Stop powers the instance off (or hibernates it).
	Stop(ctx context.Context, instanceID string, opts StopOptions) error
	// Tag labels resources.
	Tag(ctx context.Context, resourceIDs []string, tags map[string]string) error
}

// Network acts on VM network access.
type Network interface {
	// Isolate cuts the instance off the network, breaking established
	// connections where the cloud needs a trick to do so.
	Isolate(ctx context.Context, instanceID string, opts IsolateOptions) (*IsolationResult, error)
}

// Identity acts on principals and credentials.
type Identity interface {
	CallerIdentity(ctx context.Context) (*CallerIdentity, error)
	// DetachInstanceIdentity replaces (with replacementProfile) or removes
	// the VM's identity. It does not revoke credentials already issued.
	DetachInstanceIdentity(ctx context.Context, instanceID string, mode DetachMode, replacementProfile string) (*IdentityDetachment, error)
	// RevokeRoleSessions denies every session of the role issued before
	// before (zero means now). It affects every user of the role.
	RevokeRoleSessions(ctx context.Context, roleName string, before time.Time) (*SessionRevocation, error)
	// DisableAccessKey deactivates (does not delete) a user's key.
	DisableAccessKey(ctx context.Context, user, keyID string) error
}

// Audit reads the cloud's audit log.
type Audit interface {
	Query(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// Findings reads the managed detector's alerts.
type Findings interface {
	// List returns findings updated at or after since, oldest update first.
	List(ctx context.Context, since time.Time) ([]Finding, error)
}

// Exec runs commands inside VMs through the cloud's agent.
type Exec interface {
	// Available reports whether the agent on the instance is reachable now.
	Available(ctx context.Context, instanceID string) (bool, error)
	// RunCommand runs a shell script and waits for its result. A command
	// that ran but did not succeed returns its result and an ErrFailed error.
	RunCommand(ctx context.Context, instanceID string, commands []string, opts CommandOptions) (*CommandResult, error)
	// CaptureMemory dumps RAM to bucket and returns the evidence with its
	// SHA-256 computed from the stored object.
	CaptureMemory(ctx context.Context, instanceID, bucket string, opts MemoryOptions) (*Evidence, error)
}

// Storage stores and verifies evidence objects.
type Storage interface {
	PutEvidenceObject(ctx context.Context, bucket, key string, body []byte, tags map[string]string) (*Evidence, error)
	// HashObject streams an object and returns its size and SHA-256.
	HashObject(ctx context.Context, bucket, key string) (*ObjectInfo, error)
}

// Provider bundles one cloud account's capabilities. A capability the cloud
// lacks returns nil, and Capabilities says so.
type Provider interface {
	Cloud() string
	Target() Target
	Capabilities() Capabilities
	Compute() Compute
	Network() Network
	Identity() Identity
	Audit() Audit
	Findings() Findings
	Exec() Exec
	Storage() Storage
	Monitoring() Monitoring
}
