package providers

import (
	"context"
	"time"
)

// Provider is one cloud account as the responder reaches it. Everything it
// can do beyond naming its cloud and target is an optional domain interface
// below, checked with a type assertion (see Capability): a cloud that
// cannot do something simply does not implement the interface, and the
// playbook's per-cloud fallback says what to do instead. Adding a
// capability is one interface here plus its implementations.
type Provider interface {
	Cloud() string
	Target() Target
}

// Compute: VMs and their disks.

// InstanceDescriber records a VM before anything touches it.
type InstanceDescriber interface {
	// DescribeInstance records the instance: NICs and groups, disks,
	// identity, scaling group and protection flags.
	DescribeInstance(ctx context.Context, id string) (*Instance, error)
}

// DiskSnapshotter preserves a VM's disks.
type DiskSnapshotter interface {
	// SnapshotDisks starts crash-consistent snapshots of every disk of the
	// instance, tagged with tags. The returned evidence is usually pending:
	// the point in time is fixed when a snapshot starts.
	SnapshotDisks(ctx context.Context, instanceID string, tags map[string]string) ([]Evidence, error)
	// WaitForSnapshots polls until every snapshot is complete or timeout
	// (of Sleeper time) passes; it returns their final evidence records.
	WaitForSnapshots(ctx context.Context, ids []string, timeout time.Duration) ([]Evidence, error)
}

// TerminationProtector keeps a VM (and its disks) from being deleted.
type TerminationProtector interface {
	// ProtectFromTermination blocks API termination, makes a guest shutdown
	// stop rather than terminate, and keeps every disk if the VM goes anyway.
	ProtectFromTermination(ctx context.Context, instanceID string) (*TerminationProtection, error)
}

// ScalingProtector takes a VM out of its scaling group's hands.
type ScalingProtector interface {
	ProtectFromScaling(ctx context.Context, instanceID string, opts ScalingOptions) (*ScalingResult, error)
}

// InstanceStopper powers a VM off.
type InstanceStopper interface {
	StopInstance(ctx context.Context, instanceID string, opts StopOptions) error
}

// Tagger labels resources.
type Tagger interface {
	Tag(ctx context.Context, resourceIDs []string, tags map[string]string) error
}

// Network.

// NetworkIsolator cuts a VM off the network, breaking established
// connections where the cloud needs a trick to do so (the AWS all-open
// transition group, Azure's flushConnection, GCP's access-config churn).
type NetworkIsolator interface {
	IsolateInstance(ctx context.Context, instanceID string, opts IsolateOptions) (*IsolationResult, error)
}

// NaiveIsolator is the isolation a responder does from console habit, kept
// so a drill can show why it fails: one group swap (AWS), an NSG swap
// without flushConnection (Azure), a deny-by-tag rule without the
// access-config churn (GCP). Established flows survive all three.
type NaiveIsolator interface {
	IsolateNaively(ctx context.Context, instanceID, groupName string) (*IsolationResult, error)
}

// Identity.

// CallerIdentifier says who the provider acts as.
type CallerIdentifier interface {
	CallerIdentity(ctx context.Context) (*CallerIdentity, error)
}

// IdentityDetacher replaces or removes a VM's identity. It does not revoke
// credentials already issued.
type IdentityDetacher interface {
	DetachInstanceIdentity(ctx context.Context, instanceID string, mode DetachMode, replacementProfile string) (*IdentityDetachment, error)
}

// NaiveIdentityRemover removes a VM's identity and nothing else, the way a
// console user does (AWS disassociate, Azure identity None keeping the role
// assignments, GCP setServiceAccount with none): stolen credentials keep
// working.
type NaiveIdentityRemover interface {
	RemoveInstanceIdentity(ctx context.Context, instanceID string) (*IdentityDetachment, error)
}

// OperationDenier denies a principal only the listed operations, the way
// a team writes a deny for what the finding showed (NAIVE: every other
// operation the principal was granted keeps working for a stolen
// credential).
type OperationDenier interface {
	DenyOperations(ctx context.Context, principal string, operations []string) error
}

// SessionRevoker makes every credential a principal has already issued
// stop working, by the cloud's own method (an AWS TokenIssueTime deny on
// the role, disabling a GCP service account). Azure has none for a managed
// identity's tokens: its fallback is GrantRemover.
type SessionRevoker interface {
	RevokeSessions(ctx context.Context, principal string) (*Revocation, error)
}

// GrantRemover removes every grant of a principal (Azure role
// assignments), so its still-valid tokens authorize nothing: the cut where
// tokens cannot be revoked.
type GrantRemover interface {
	RemoveGrants(ctx context.Context, principal string) (*Revocation, error)
}

// AccessKeyDisabler deactivates (does not delete) a user's long-term key.
type AccessKeyDisabler interface {
	DisableAccessKey(ctx context.Context, user, keyID string) error
}

// AccessKeyDescriber reads a long-term key: whose it is, its state, when it
// was created and last used. Eradication records it before removing it.
type AccessKeyDescriber interface {
	DescribeAccessKey(ctx context.Context, keyID string) (*AccessKeyInfo, error)
}

// AccessKeyDeleter deletes a user's long-term key (after it was disabled
// and recorded).
type AccessKeyDeleter interface {
	DeleteAccessKey(ctx context.Context, user, keyID string) error
}

// InstanceTerminator terminates a VM, in region when the cloud's ids are
// regional (AWS): eradication of what an attacker launched.
type InstanceTerminator interface {
	TerminateInstance(ctx context.Context, id, region string) error
}

// InstanceHalter stops an instance wherever it runs, without waiting
// (regional on AWS): containment of launched compute, which stops the
// spending and keeps its disks for the record until eradication.
type InstanceHalter interface {
	HaltInstance(ctx context.Context, id, region string) error
}

// NetworkRuleDisabler makes a firewall rule admit nothing while keeping it
// for the record (a GCP rule disabled, an NSG rule turned to Deny):
// containment of a backdoor. AWS security-group rules have no such state.
type NetworkRuleDisabler interface {
	DisableNetworkRule(ctx context.Context, id string) error
}

// NetworkRuleDeleter deletes one firewall rule (an AWS security-group rule
// "sg-…/sgr-…", an NSG security rule's ARM id, a VPC firewall rule's path):
// eradication of a backdoor.
type NetworkRuleDeleter interface {
	DeleteNetworkRule(ctx context.Context, id string) error
}

// Audit, findings and alarms.

// AuditReader reads the cloud's audit log.
type AuditReader interface {
	QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// FindingsReader reads the managed detector's alerts.
type FindingsReader interface {
	// ListFindings returns findings updated at or after since, oldest
	// update first, each with its typed resource.
	ListFindings(ctx context.Context, since time.Time) ([]Finding, error)
}

// AlarmReader reads metric alarms (CloudWatch alarms, Azure Monitor metric
// alerts, Cloud Monitoring alert policies). Playbooks trigger on them as
// well as on findings: "CPU above 95% for 10 minutes" is often the first
// signal of a miner.
type AlarmReader interface {
	// Alarms returns every metric alarm of the account and region, in name
	// order, with its state evaluated now.
	Alarms(ctx context.Context) ([]Alarm, error)
}

// Exec: the cloud's in-guest agent.

// CommandRunner runs commands inside VMs through the cloud's agent (SSM,
// Azure Run Command). GCP has no first-party one.
type CommandRunner interface {
	// AgentAvailable reports whether the agent on the instance is
	// reachable now.
	AgentAvailable(ctx context.Context, instanceID string) (bool, error)
	// RunCommand runs a shell script and waits for its result. A command
	// that ran but did not succeed returns its result and an ErrFailed
	// error.
	RunCommand(ctx context.Context, instanceID string, commands []string, opts CommandOptions) (*CommandResult, error)
}

// MemoryCapturer dumps a VM's RAM through the agent.
type MemoryCapturer interface {
	// CaptureMemory dumps RAM to bucket and returns the evidence with its
	// SHA-256 computed from the stored object.
	CaptureMemory(ctx context.Context, instanceID, bucket string, opts MemoryOptions) (*Evidence, error)
}

// Storage.

// EvidenceStore stores and verifies evidence objects.
type EvidenceStore interface {
	PutEvidenceObject(ctx context.Context, bucket, key string, body []byte, tags map[string]string) (*Evidence, error)
	// HashObject streams an object and returns its size and SHA-256.
	HashObject(ctx context.Context, bucket, key string) (*ObjectInfo, error)
}
