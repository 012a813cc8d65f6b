package gcpworld

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Ext is the extension-store key of the GCP state.
const Ext = "gcp"

// GCE instance statuses, as the Compute API names them.
const (
	StatusProvisioning = "PROVISIONING"
	StatusStaging      = "STAGING"
	StatusRunning      = "RUNNING"
	StatusStopping     = "STOPPING"
	StatusTerminated   = "TERMINATED" // stopped: GCE calls a stopped VM TERMINATED
)

// State is the simulated Google Cloud: projects and every GCP-specific
// resource, keyed by resource path (or by email for service accounts).
type State struct {
	w *world.World
	// disabled holds what token checks see of a service account's disabled
	// flag while a change to it propagates (ServiceAccountChange).
	disabled *world.Lags[bool]

	Projects        world.Table[*Project]
	Networks        world.Table[*Network]
	Subnets         world.Table[*Subnet]
	Firewalls       world.Table[*Firewall]
	Instances       world.Table[*Instance]
	Disks           world.Table[*Disk]
	Snapshots       world.Table[*Snapshot]
	MIGs            world.Table[*MIG]
	ServiceAccounts world.Table[*ServiceAccount] // by email
	Users           world.Table[bool]            // human principals, by email
	Tokens          world.Table[*Token]          // by access-token value
	// DeletedInstances remembers deleted VMs for audit and scoring.
	DeletedInstances world.Table[*Instance]
}

// Project is a project with its IAM policy.
type Project struct {
	ID     string
	Number uint64
	Region string // home region
	// Bindings maps a role to its members ("user:a@b", "serviceAccount:x").
	Bindings map[string][]string
	// SCC says whether Security Command Center (threat detection) is on.
	SCC bool
	// Organization is the numeric organization id SCC findings live under.
	Organization string
	// DataAccessLogs turns on Data Access audit logs (reads); GCP leaves
	// them off by default, so reads are not visible to log queries.
	DataAccessLogs bool
	// PolicySerial counts changes to Bindings; the policy's etag derives
	// from it.
	PolicySerial uint64
}

// PolicyETag is the etag of the project's IAM policy: it changes with
// every change to the bindings, so a read-modify-write that lost a race is
// refused. It looks like Google's (base64 of 8 bytes, "BwX…").
func (p *Project) PolicyETag() string {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, 0x0705_0000_0000_0000|(p.Number%1_000_000)<<20|p.PolicySerial&0xfffff)
	return base64.StdEncoding.EncodeToString(b)
}

// SetBindings replaces the project's IAM policy bindings (members are
// kept in the given order; roles with no members are dropped).
func (s *State) SetBindings(project string, bindings map[string][]string) error {
	p := s.Projects.Lookup(project)
	if p == nil {
		return fmt.Errorf("project %q does not exist", project)
	}
	p.Bindings = map[string][]string{}
	for role, members := range bindings {
		if len(members) > 0 {
			p.Bindings[role] = append([]string(nil), members...)
		}
	}
	p.PolicySerial++
	return nil
}

// Network is a VPC network.
type Network struct {
	Key, Name, Project string
	ID                 uint64
	Created            time.Time
}

// Subnet is a regional subnetwork.
type Subnet struct {
	Key, Name, Project, Region, Network, CIDR string
	ID                                        uint64
	next                                      int
}

// FirewallRule is one allowed or denied protocol entry.
type FirewallRule struct {
	Protocol string   // "all", "tcp", "udp", "icmp" or a number
	Ports    []string // "22", "8000-9000"; empty means every port
}

// Firewall is a VPC firewall rule. Rules are evaluated by ascending
// priority; at equal priority a deny beats an allow. Each network has the
// implied rules "allow all egress" and "deny all ingress" at 65535.
type Firewall struct {
	Key, Name, Project, Network string
	ID                          uint64
	Description                 string
	Direction                   string // "INGRESS" or "EGRESS"
	Priority                    int
	Allowed, Denied             []FirewallRule
	SourceRanges, SourceTags    []string
	DestinationRanges           []string
	TargetTags                  []string
	TargetServiceAccounts       []string
	Disabled                    bool
	LogEnabled                  bool
	Created                     time.Time
}

// AccessConfig gives an interface an external IP (one-to-one NAT).
type AccessConfig struct {
	Name, Type, NatIP, NetworkTier string
}

// NIC is a network interface of a VM.
type NIC struct {
	Name, Network, Subnet, NetworkIP string
	AccessConfigs                    []*AccessConfig
	Fingerprint                      string
}

// AttachedDisk is a disk attached to a VM.
type AttachedDisk struct {
	DeviceName string
	Disk       string // disk key
	Boot       bool
	AutoDelete bool
	Index      int
	Mode       string // READ_WRITE
}

// Instance is a Compute Engine VM. Key is its resource path.
type Instance struct {
	Key, Name, Project, Zone string
	ID                       uint64
	MachineType              string
	Status                   string
	Tags                     []string
	TagsFingerprint          string
	Labels                   map[string]string
	LabelFingerprint         string
	DeletionProtection       bool
	ServiceAccount           string // email; "" when none
	Scopes                   []string
	NICs                     []*NIC
	Disks                    []*AttachedDisk
	Metadata                 map[string]string
	MetadataFingerprint      string
	MIG                      string // key of the managing MIG, "" when none
	Created                  time.Time
	LastStart, LastStop      time.Time
	Deleted                  time.Time
	stopAt, startAt          time.Time // pending power transitions
}

// Disk is a persistent disk; its world Volume has the same ID (Key).
type Disk struct {
	Key, Name, Project, Zone string
	ID                       uint64
	SizeGb                   int
	Type                     string
	SourceImage              string
	Users                    []string // instance keys
	Labels                   map[string]string
	LabelFingerprint         string
	Created                  time.Time
	Deleted                  bool
}

// Snapshot is a disk snapshot; its world Snapshot has the same ID (Key).
type Snapshot struct {
	Key, Name, Project string
	ID                 uint64
	SourceDisk         string // disk key
	SourceDiskID       uint64
	DiskSizeGb         int
	Description        string
	Labels             map[string]string
	LabelFingerprint   string
	StorageLocations   []string
	Created            time.Time
	CompleteAt         time.Time
	CreatedBy          string
}

// Status reports CREATING, UPLOADING or READY at t: a snapshot is usable only
// once READY, which takes minutes for a real disk.
func (s *Snapshot) Status(t time.Time) string {
	switch {
	case !t.Before(s.CompleteAt):
		return "READY"
	case t.Sub(s.Created) < s.CompleteAt.Sub(s.Created)/5:
		return "CREATING"
	}
	return "UPLOADING"
}

// MIG is a managed instance group, zonal (Zone set) or regional (Region
// set). Members are instance keys in creation order.
type MIG struct {
	Key, Name, Project, Zone, Region string
	ID                               uint64
	BaseInstanceName, Template       string
	TargetSize                       int
	Members                          []string
	Created                          time.Time
}

// ServiceAccount is an IAM service account.
type ServiceAccount struct {
	Email, Project, DisplayName string
	UniqueID                    string
	Disabled                    bool
	Keys                        []*ServiceAccountKey
	Created                     time.Time
}

// ServiceAccountKey is a service-account key.
type ServiceAccountKey struct {
	ID       string
	Type     string // USER_MANAGED or SYSTEM_MANAGED
	Disabled bool
	Created  time.Time
	Expires  time.Time
}

// Token is an OAuth2 access token the simulated Google issued.
type Token struct {
	Value     string
	Principal string // email
	Kind      string // "serviceAccount" or "user"
	Issued    time.Time
	Expires   time.Time
	// Source says how it was minted: "instance:<key>" (metadata server),
	// "key:<key id>" (JWT grant), "static".
	Source string
	KeyID  string
}

// Principal is an authenticated caller.
type Principal struct {
	Email string
	Kind  string // "serviceAccount" or "user"
	Token *Token
}

// Member is the IAM member string of the principal.
func (p *Principal) Member() string { return p.Kind + ":" + p.Email }

// Authentication errors.
var (
	// ErrTokenInvalid: the token is unknown or expired.
	ErrTokenInvalid = errors.New("invalid or expired access token")
	// ErrAccountDisabled: the token's service account is disabled, which
	// revokes every token it holds at once.
	ErrAccountDisabled = errors.New("service account is disabled")
)

// Of returns the world's GCP state, creating it on first use. Call it, and
// every method of the state, with the world locked.
func Of(w *world.World) *State {
	return w.ExtLocked(Ext, func() any {
		return &State{w: w, disabled: world.NewLags[bool](propagationGCPIAM)}
	}).(*State)
}

// NumericID draws a 19-digit resource id the way GCE ids look.
func (s *State) NumericID() uint64 {
	return 1_000_000_000_000_000_000 + s.w.IDRandLocked().Uint64()%8_000_000_000_000_000_000
}

// Fingerprint draws a new 12-character fingerprint: the URL-safe base64
// of 8 bytes, as Compute answers them. It must be canonical (the last
// character carries 4 bits, the 2 low bits zero) because clients that
// treat it as bytes (gcloud) decode and re-encode it before sending it
// back.
func (s *State) Fingerprint() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 11)
	for i := range b {
		n := s.w.IDRandLocked().IntN(len(alphabet))
		if i == len(b)-1 {
			n &^= 3 // 11 characters carry 66 bits, 8 bytes only 64
		}
		b[i] = alphabet[n]
	}
	return string(b) + "="
}

// Resource path helpers.

// InstanceKey is the resource path of a VM.
func InstanceKey(project, zone, name string) string {
	return fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name)
}

// DiskKey is the resource path of a zonal disk.
func DiskKey(project, zone, name string) string {
	return fmt.Sprintf("projects/%s/zones/%s/disks/%s", project, zone, name)
}

// SnapshotKey is the resource path of a snapshot.
func SnapshotKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/snapshots/%s", project, name)
}

// FirewallKey is the resource path of a firewall rule.
func FirewallKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/firewalls/%s", project, name)
}

// NetworkKey is the resource path of a network.
func NetworkKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/networks/%s", project, name)
}

// SubnetKey is the resource path of a subnetwork.
func SubnetKey(project, region, name string) string {
	return fmt.Sprintf("projects/%s/regions/%s/subnetworks/%s", project, region, name)
}

// MIGKey is the resource path of a MIG; location is a zone or a region
// and regional says which.
func MIGKey(project, location, name string, regional bool) string {
	kind := "zones"
	if regional {
		kind = "regions"
	}
	return fmt.Sprintf("projects/%s/%s/%s/instanceGroupManagers/%s", project, kind, location, name)
}

// ZoneRegion returns the region of a zone ("us-central1-a" -> "us-central1").
func ZoneRegion(zone string) string {
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		return zone[:i]
	}
	return zone
}

// AddProject registers a project (and the neutral Account for it).
func (s *State) AddProject(id, region string) *Project {
	p := &Project{ID: id, Number: 100_000_000_000 + s.w.IDRandLocked().Uint64()%900_000_000_000, Region: region,
		Bindings: map[string][]string{}, Organization: fmt.Sprintf("%d", 100_000_000_000+s.w.IDRandLocked().Uint64()%900_000_000_000)}
	s.Projects.Put(id, p)
	s.w.AddAccountLocked("gcp", id, id, region)
	return p
}

// Grant adds member to role in the project's IAM policy.
func (s *State) Grant(project, role, member string) error {
	p := s.Projects.Lookup(project)
	if p == nil {
		return fmt.Errorf("project %q does not exist", project)
	}
	for _, m := range p.Bindings[role] {
		if m == member {
			return nil
		}
	}
	p.Bindings[role] = append(p.Bindings[role], member)
	p.PolicySerial++
	return nil
}

// AddUser registers a human principal.
func (s *State) AddUser(email string) { s.Users.Put(email, true) }

// AddServiceAccount creates a service account
// "<id>@<project>.iam.gserviceaccount.com".
func (s *State) AddServiceAccount(project, accountID, displayName string) (*ServiceAccount, error) {
	if s.Projects.Lookup(project) == nil {
		return nil, fmt.Errorf("project %q does not exist", project)
	}
	email := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", accountID, project)
	if _, ok := s.ServiceAccounts.Get(email); ok {
		return nil, fmt.Errorf("service account %s already exists", email)
	}
	sa := &ServiceAccount{Email: email, Project: project, DisplayName: displayName,
		UniqueID: fmt.Sprintf("1%010d%010d", s.w.IDRandLocked().Uint64()%10_000_000_000, s.w.IDRandLocked().Uint64()%10_000_000_000), Created: s.w.Now()}
	// Every service account has a Google-managed key pair for its tokens.
	sa.Keys = append(sa.Keys, &ServiceAccountKey{ID: s.newKeyID(), Type: "SYSTEM_MANAGED", Created: sa.Created,
		Expires: sa.Created.Add(90 * 24 * time.Hour)})
	s.ServiceAccounts.Put(email, sa)
	return sa, nil
}

func (s *State) newKeyID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 40)
	for i := range b {
		b[i] = hex[s.w.IDRandLocked().IntN(16)]
	}
	return string(b)
}

// AddServiceAccountKey creates a user-managed key, as a JSON key
// file download does.
func (s *State) AddServiceAccountKey(email string) (*ServiceAccountKey, error) {
	sa := s.ServiceAccounts.Lookup(email)
	if sa == nil {
		return nil, fmt.Errorf("service account %s does not exist", email)
	}
	now := s.w.Now()
	k := &ServiceAccountKey{ID: s.newKeyID(), Type: "USER_MANAGED", Created: now, Expires: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	sa.Keys = append(sa.Keys, k)
	return k, nil
}

// Key returns the service account's key with that id, or nil.
func (sa *ServiceAccount) Key(id string) *ServiceAccountKey {
	for _, k := range sa.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

// IssueToken mints an access token for a principal. Service
// accounts must be enabled, and when keyID names one of their keys it must
// be enabled too (Google rejects the JWT grant otherwise).
func (s *State) IssueToken(principal, source, keyID string, ttl time.Duration) (*Token, error) {
	kind := "user"
	if sa, ok := s.ServiceAccounts.Get(principal); ok {
		kind = "serviceAccount"
		if s.disabledForAuth(sa) {
			return nil, ErrAccountDisabled
		}
		if keyID != "" {
			if k := sa.Key(keyID); k != nil && k.Disabled {
				return nil, fmt.Errorf("key %s of %s is disabled: %w", keyID, principal, ErrTokenInvalid)
			}
		}
	} else if !s.Users.Lookup(principal) {
		return nil, fmt.Errorf("principal %s does not exist: %w", principal, ErrTokenInvalid)
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := s.w.Now()
	t := &Token{Value: "ya29.c." + s.w.NewSecretLocked() + s.w.NewSecretLocked()[:24], Principal: principal,
		Kind: kind, Issued: now, Expires: now.Add(ttl), Source: source, KeyID: keyID}
	t.Value = strings.NewReplacer("+", "-", "/", "_").Replace(t.Value)
	s.Tokens.Put(t.Value, t)
	return t, nil
}

// InstanceToken is what the VM's metadata server hands a workload
// (or an attacker on the VM): a token of the VM's service account. It fails
// when the VM has no service account or the account is disabled.
func (s *State) InstanceToken(instanceKey string) (*Token, error) {
	inst := s.Instances.Lookup(instanceKey)
	if inst == nil {
		return nil, fmt.Errorf("instance %s does not exist", instanceKey)
	}
	if inst.Status != StatusRunning {
		return nil, fmt.Errorf("instance %s is %s; its metadata server is not serving", instanceKey, inst.Status)
	}
	if inst.ServiceAccount == "" {
		return nil, fmt.Errorf("instance %s has no service account", instanceKey)
	}
	return s.IssueToken(inst.ServiceAccount, "instance:"+instanceKey, "", time.Hour)
}

// Authenticate resolves a bearer token. A token stays valid until
// it expires even if the VM it came from lost its service account; only
// disabling the account (or deleting it) revokes it early, and that revokes
// every token of the account at once.
func (s *State) Authenticate(value string) (*Principal, error) {
	t := s.Tokens.Lookup(value)
	if t == nil || !s.w.Now().Before(t.Expires) {
		return nil, ErrTokenInvalid
	}
	if t.Kind == "serviceAccount" {
		sa := s.ServiceAccounts.Lookup(t.Principal)
		if sa == nil {
			return nil, ErrTokenInvalid
		}
		if s.disabledForAuth(sa) {
			return nil, ErrAccountDisabled
		}
	}
	return &Principal{Email: t.Principal, Kind: t.Kind, Token: t}, nil
}

// SetServiceAccountDisabled disables or enables a service account.
// Reads of the account show the change at once; token checks and token
// issuance apply it to every token, key and VM using the account at once
// too, or, through the wire (ServiceAccountChange), once it has
// propagated (Knobs.GCPDisablePropagation: documented as immediate, which
// is the default).
func (s *State) SetServiceAccountDisabled(email string, disabled bool) error {
	sa := s.ServiceAccounts.Lookup(email)
	if sa == nil {
		return fmt.Errorf("service account %s does not exist", email)
	}
	sa.Disabled = disabled
	return nil
}

// disabledForAuth is whether token checks treat the account as disabled:
// its state, unless a change to it is still propagating.
func (s *State) disabledForAuth(sa *ServiceAccount) bool {
	if d, ok := s.disabled.Seen(sa.Email); ok {
		return d
	}
	return sa.Disabled
}

// ServiceAccountUsers lists the VMs running as a service account:
// the blast radius of disabling it.
func (s *State) ServiceAccountUsers(email string) []string {
	var out []string
	for _, k := range s.Instances.Keys() {
		if s.Instances.Lookup(k).ServiceAccount == email {
			out = append(out, k)
		}
	}
	return out
}

// gcpRolePermissions are the permission globs of the predefined roles the
// simulator knows. path.Match-style: "*" matches within a dotted name.
var gcpRolePermissions = map[string][]string{
	"roles/owner":         {"*"},
	"roles/editor":        {"*"},
	"roles/viewer":        {"*.get", "*.list", "logging.logEntries.list", "compute.*.get", "compute.*.list"},
	"roles/compute.admin": {"compute.*"},
	"roles/compute.instanceAdmin.v1": {"compute.instances.*", "compute.disks.*", "compute.snapshots.*",
		"compute.instanceGroupManagers.*", "compute.zoneOperations.*", "compute.regionOperations.*",
		"compute.globalOperations.*", "compute.subnetworks.use", "compute.subnetworks.useExternalIp"},
	"roles/compute.securityAdmin":           {"compute.firewalls.*", "compute.globalOperations.*", "compute.networks.updatePolicy"},
	"roles/compute.viewer":                  {"compute.*.get", "compute.*.list"},
	"roles/logging.viewer":                  {"logging.logEntries.list"},
	"roles/logging.privateLogViewer":        {"logging.logEntries.list", "logging.privateLogEntries.list"},
	"roles/securitycenter.findingsViewer":   {"securitycenter.findings.list"},
	"roles/securitycenter.adminViewer":      {"securitycenter.*.list", "securitycenter.*.get"},
	"roles/iam.serviceAccountAdmin":         {"iam.serviceAccounts.*"},
	"roles/iam.serviceAccountKeyAdmin":      {"iam.serviceAccountKeys.*", "iam.serviceAccounts.get", "iam.serviceAccounts.list"},
	"roles/iam.serviceAccountUser":          {"iam.serviceAccounts.actAs", "iam.serviceAccounts.get", "iam.serviceAccounts.list"},
	"roles/storage.admin":                   {"storage.*"},
	"roles/storage.objectViewer":            {"storage.objects.get", "storage.objects.list"},
	"roles/compute.networkViewer":           {"compute.networks.get", "compute.networks.list", "compute.firewalls.get", "compute.firewalls.list"},
	"roles/monitoring.viewer":               {"monitoring.*.get", "monitoring.*.list"},
	"roles/cloudsecurityscanner.viewer":     {"cloudsecurityscanner.*.get"},
	"roles/resourcemanager.projectIamAdmin": {"resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"},
	"roles/iam.securityReviewer": {"*.getIamPolicy", "iam.*.get", "iam.*.list", "iam.serviceAccountKeys.list",
		"resourcemanager.projects.get"},
	"roles/securitycenter.findingsStateSetter": {"securitycenter.findings.setState", "securitycenter.findings.list"},
	"roles/securitycenter.findingsMuteSetter":  {"securitycenter.findings.setMute", "securitycenter.findings.list"},
}

// RoleKnown reports whether the simulator models role.
func RoleKnown(role string) bool { _, ok := gcpRolePermissions[role]; return ok }

// Allowed reports whether member holds permission on project
// through the project's IAM policy.
func (s *State) Allowed(project, member, permission string) bool {
	p := s.Projects.Lookup(project)
	if p == nil {
		return false
	}
	for _, role := range world.SortedKeys(p.Bindings) {
		held := false
		for _, m := range p.Bindings[role] {
			if m == member {
				held = true
				break
			}
		}
		if !held {
			continue
		}
		for _, pat := range gcpRolePermissions[role] {
			if globDotted(pat, permission) {
				return true
			}
		}
	}
	return false
}

// globDotted matches a permission glob where "*" spans any characters.
func globDotted(pattern, s string) bool {
	if pattern == "*" || pattern == s {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return false
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, part)
		}
		j := strings.Index(s, part)
		if j < 0 {
			return false
		}
		s = s[j+len(part):]
	}
	return true
}

// propagationGCPIAM is the stream GCP's propagation delays draw from.
const propagationGCPIAM = "propagation/gcp-iam"

// ServiceAccountChange applies change, a change made through the
// wire to whether the service account email is disabled, so that token
// checks and token issuance see it once it has propagated
// (Knobs.GCPDisablePropagation, immediate by default as documented).
func (s *State) ServiceAccountChange(email string, change func() error) error {
	state := func() bool {
		sa := s.ServiceAccounts.Lookup(email)
		return sa != nil && sa.Disabled
	}
	return s.disabled.ChangeLocked(s.w, email, state, change,
		func(b, a bool) bool { return b == a }, s.w.KnobsLocked().GCPDisablePropagation)
}
