package world

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// GCP state lives in the world's extension map under GCPExt, so the core
// model stays provider-neutral. Every GCE VM is also a world Instance (its ID
// is the resource path "projects/P/zones/Z/instances/N"), every persistent
// disk a Volume and every snapshot a Snapshot, so flows, CPU, processes,
// evidence accounting and detectors work across clouds; the GCP-only facts
// (network tags and their fingerprint, labels, access configs, service
// accounts, MIG membership, firewall rules) are in the types below.
const GCPExt = "gcp"

// GCE instance statuses, as the Compute API names them.
const (
	GCEProvisioning = "PROVISIONING"
	GCEStaging      = "STAGING"
	GCERunning      = "RUNNING"
	GCEStopping     = "STOPPING"
	GCETerminated   = "TERMINATED" // stopped: GCE calls a stopped VM TERMINATED
)

// GCP is the simulated Google Cloud: projects and every GCP-specific
// resource, keyed by resource path (or by email for service accounts).
type GCP struct {
	Projects        map[string]*GCPProject
	Networks        map[string]*GCENetwork
	Subnets         map[string]*GCESubnet
	Firewalls       map[string]*GCEFirewall
	Instances       map[string]*GCEInstance
	Disks           map[string]*GCEDisk
	Snapshots       map[string]*GCESnapshot
	MIGs            map[string]*GCEMIG
	ServiceAccounts map[string]*GCPServiceAccount // by email
	Users           map[string]bool               // human principals, by email
	Tokens          map[string]*GCPToken          // by access-token value
	// DeletedInstances remembers deleted VMs for audit and scoring.
	DeletedInstances map[string]*GCEInstance
}

// GCPProject is a project with its IAM policy.
type GCPProject struct {
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
}

// GCENetwork is a VPC network.
type GCENetwork struct {
	Key, Name, Project string
	ID                 uint64
	Created            time.Time
}

// GCESubnet is a regional subnetwork.
type GCESubnet struct {
	Key, Name, Project, Region, Network, CIDR string
	ID                                        uint64
	next                                      int
}

// GCEFirewallRule is one allowed or denied protocol entry.
type GCEFirewallRule struct {
	Protocol string   // "all", "tcp", "udp", "icmp" or a number
	Ports    []string // "22", "8000-9000"; empty means every port
}

// GCEFirewall is a VPC firewall rule. Rules are evaluated by ascending
// priority; at equal priority a deny beats an allow. Each network has the
// implied rules "allow all egress" and "deny all ingress" at 65535.
type GCEFirewall struct {
	Key, Name, Project, Network string
	ID                          uint64
	Description                 string
	Direction                   string // "INGRESS" or "EGRESS"
	Priority                    int
	Allowed, Denied             []GCEFirewallRule
	SourceRanges, SourceTags    []string
	DestinationRanges           []string
	TargetTags                  []string
	TargetServiceAccounts       []string
	Disabled                    bool
	LogEnabled                  bool
	Created                     time.Time
}

// GCEAccessConfig gives an interface an external IP (one-to-one NAT).
type GCEAccessConfig struct {
	Name, Type, NatIP, NetworkTier string
}

// GCENIC is a network interface of a VM.
type GCENIC struct {
	Name, Network, Subnet, NetworkIP string
	AccessConfigs                    []*GCEAccessConfig
	Fingerprint                      string
}

// GCEAttachedDisk is a disk attached to a VM.
type GCEAttachedDisk struct {
	DeviceName string
	Disk       string // disk key
	Boot       bool
	AutoDelete bool
	Index      int
	Mode       string // READ_WRITE
}

// GCEInstance is a Compute Engine VM. Key is its resource path.
type GCEInstance struct {
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
	NICs                     []*GCENIC
	Disks                    []*GCEAttachedDisk
	Metadata                 map[string]string
	MetadataFingerprint      string
	MIG                      string // key of the managing MIG, "" when none
	Created                  time.Time
	LastStart, LastStop      time.Time
	Deleted                  time.Time
	stopAt, startAt          time.Time // pending power transitions
}

// GCEDisk is a persistent disk; its world Volume has the same ID (Key).
type GCEDisk struct {
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

// GCESnapshot is a disk snapshot; its world Snapshot has the same ID (Key).
type GCESnapshot struct {
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
func (s *GCESnapshot) Status(t time.Time) string {
	switch {
	case !t.Before(s.CompleteAt):
		return "READY"
	case t.Sub(s.Created) < s.CompleteAt.Sub(s.Created)/5:
		return "CREATING"
	}
	return "UPLOADING"
}

// GCEMIG is a managed instance group, zonal (Zone set) or regional (Region
// set). Members are instance keys in creation order.
type GCEMIG struct {
	Key, Name, Project, Zone, Region string
	ID                               uint64
	BaseInstanceName, Template       string
	TargetSize                       int
	Members                          []string
	Created                          time.Time
}

// GCPServiceAccount is an IAM service account.
type GCPServiceAccount struct {
	Email, Project, DisplayName string
	UniqueID                    string
	Disabled                    bool
	Keys                        []*GCPSAKey
	Created                     time.Time
}

// GCPSAKey is a service-account key.
type GCPSAKey struct {
	ID       string
	Type     string // USER_MANAGED or SYSTEM_MANAGED
	Disabled bool
	Created  time.Time
	Expires  time.Time
}

// GCPToken is an OAuth2 access token the simulated Google issued.
type GCPToken struct {
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

// GCPPrincipal is an authenticated caller.
type GCPPrincipal struct {
	Email string
	Kind  string // "serviceAccount" or "user"
	Token *GCPToken
}

// Member is the IAM member string of the principal.
func (p *GCPPrincipal) Member() string { return p.Kind + ":" + p.Email }

// Authentication errors.
var (
	// ErrGCPTokenInvalid: the token is unknown or expired.
	ErrGCPTokenInvalid = errors.New("invalid or expired access token")
	// ErrGCPAccountDisabled: the token's service account is disabled, which
	// revokes every token it holds at once.
	ErrGCPAccountDisabled = errors.New("service account is disabled")
)

// GCPLocked returns the GCP state, creating it on first use.
func (w *World) GCPLocked() *GCP {
	return w.ExtLocked(GCPExt, func() any {
		return &GCP{Projects: map[string]*GCPProject{}, Networks: map[string]*GCENetwork{},
			Subnets: map[string]*GCESubnet{}, Firewalls: map[string]*GCEFirewall{},
			Instances: map[string]*GCEInstance{}, Disks: map[string]*GCEDisk{},
			Snapshots: map[string]*GCESnapshot{}, MIGs: map[string]*GCEMIG{},
			ServiceAccounts: map[string]*GCPServiceAccount{}, Users: map[string]bool{},
			Tokens: map[string]*GCPToken{}, DeletedInstances: map[string]*GCEInstance{}}
	}).(*GCP)
}

// GCPNumericIDLocked draws a 19-digit resource id the way GCE ids look.
func (w *World) GCPNumericIDLocked() uint64 {
	return 1_000_000_000_000_000_000 + w.ids.Uint64()%8_000_000_000_000_000_000
}

// GCPFingerprintLocked draws a new base64-looking 12-character fingerprint.
func (w *World) GCPFingerprintLocked() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 11)
	for i := range b {
		b[i] = alphabet[w.ids.IntN(len(alphabet))]
	}
	return string(b) + "="
}

// Resource path helpers.

// GCEInstanceKey is the resource path of a VM.
func GCEInstanceKey(project, zone, name string) string {
	return fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name)
}

// GCEDiskKey is the resource path of a zonal disk.
func GCEDiskKey(project, zone, name string) string {
	return fmt.Sprintf("projects/%s/zones/%s/disks/%s", project, zone, name)
}

// GCESnapshotKey is the resource path of a snapshot.
func GCESnapshotKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/snapshots/%s", project, name)
}

// GCEFirewallKey is the resource path of a firewall rule.
func GCEFirewallKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/firewalls/%s", project, name)
}

// GCENetworkKey is the resource path of a network.
func GCENetworkKey(project, name string) string {
	return fmt.Sprintf("projects/%s/global/networks/%s", project, name)
}

// GCESubnetKey is the resource path of a subnetwork.
func GCESubnetKey(project, region, name string) string {
	return fmt.Sprintf("projects/%s/regions/%s/subnetworks/%s", project, region, name)
}

// GCEMIGKey is the resource path of a MIG; location is a zone or a region
// and regional says which.
func GCEMIGKey(project, location, name string, regional bool) string {
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

// AddGCPProjectLocked registers a project (and the neutral Account for it).
func (w *World) AddGCPProjectLocked(id, region string) *GCPProject {
	g := w.GCPLocked()
	p := &GCPProject{ID: id, Number: 100_000_000_000 + w.ids.Uint64()%900_000_000_000, Region: region,
		Bindings: map[string][]string{}, Organization: fmt.Sprintf("%d", 100_000_000_000+w.ids.Uint64()%900_000_000_000)}
	g.Projects[id] = p
	w.AddAccountLocked("gcp", id, id, region)
	return p
}

// GCPGrantLocked adds member to role in the project's IAM policy.
func (w *World) GCPGrantLocked(project, role, member string) error {
	p := w.GCPLocked().Projects[project]
	if p == nil {
		return fmt.Errorf("project %q does not exist", project)
	}
	for _, m := range p.Bindings[role] {
		if m == member {
			return nil
		}
	}
	p.Bindings[role] = append(p.Bindings[role], member)
	return nil
}

// AddGCPUserLocked registers a human principal.
func (w *World) AddGCPUserLocked(email string) { w.GCPLocked().Users[email] = true }

// AddGCPServiceAccountLocked creates a service account
// "<id>@<project>.iam.gserviceaccount.com".
func (w *World) AddGCPServiceAccountLocked(project, accountID, displayName string) (*GCPServiceAccount, error) {
	g := w.GCPLocked()
	if g.Projects[project] == nil {
		return nil, fmt.Errorf("project %q does not exist", project)
	}
	email := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", accountID, project)
	if _, ok := g.ServiceAccounts[email]; ok {
		return nil, fmt.Errorf("service account %s already exists", email)
	}
	sa := &GCPServiceAccount{Email: email, Project: project, DisplayName: displayName,
		UniqueID: fmt.Sprintf("1%010d%010d", w.ids.Uint64()%10_000_000_000, w.ids.Uint64()%10_000_000_000), Created: w.clock.Now()}
	// Every service account has a Google-managed key pair for its tokens.
	sa.Keys = append(sa.Keys, &GCPSAKey{ID: w.gcpKeyIDLocked(), Type: "SYSTEM_MANAGED", Created: sa.Created,
		Expires: sa.Created.Add(90 * 24 * time.Hour)})
	g.ServiceAccounts[email] = sa
	return sa, nil
}

func (w *World) gcpKeyIDLocked() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 40)
	for i := range b {
		b[i] = hex[w.ids.IntN(16)]
	}
	return string(b)
}

// AddGCPServiceAccountKeyLocked creates a user-managed key, as a JSON key
// file download does.
func (w *World) AddGCPServiceAccountKeyLocked(email string) (*GCPSAKey, error) {
	sa := w.GCPLocked().ServiceAccounts[email]
	if sa == nil {
		return nil, fmt.Errorf("service account %s does not exist", email)
	}
	now := w.clock.Now()
	k := &GCPSAKey{ID: w.gcpKeyIDLocked(), Type: "USER_MANAGED", Created: now, Expires: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	sa.Keys = append(sa.Keys, k)
	return k, nil
}

// Key returns the service account's key with that id, or nil.
func (sa *GCPServiceAccount) Key(id string) *GCPSAKey {
	for _, k := range sa.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

// GCPIssueTokenLocked mints an access token for a principal. Service
// accounts must be enabled, and when keyID names one of their keys it must
// be enabled too (Google rejects the JWT grant otherwise).
func (w *World) GCPIssueTokenLocked(principal, source, keyID string, ttl time.Duration) (*GCPToken, error) {
	g := w.GCPLocked()
	kind := "user"
	if sa, ok := g.ServiceAccounts[principal]; ok {
		kind = "serviceAccount"
		if w.gcpDisabledLocked(sa) {
			return nil, ErrGCPAccountDisabled
		}
		if keyID != "" {
			if k := sa.Key(keyID); k != nil && k.Disabled {
				return nil, fmt.Errorf("key %s of %s is disabled: %w", keyID, principal, ErrGCPTokenInvalid)
			}
		}
	} else if !g.Users[principal] {
		return nil, fmt.Errorf("principal %s does not exist: %w", principal, ErrGCPTokenInvalid)
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := w.clock.Now()
	t := &GCPToken{Value: "ya29.c." + w.NewSecretLocked() + w.NewSecretLocked()[:24], Principal: principal,
		Kind: kind, Issued: now, Expires: now.Add(ttl), Source: source, KeyID: keyID}
	t.Value = strings.NewReplacer("+", "-", "/", "_").Replace(t.Value)
	g.Tokens[t.Value] = t
	return t, nil
}

// GCPInstanceTokenLocked is what the VM's metadata server hands a workload
// (or an attacker on the VM): a token of the VM's service account. It fails
// when the VM has no service account or the account is disabled.
func (w *World) GCPInstanceTokenLocked(instanceKey string) (*GCPToken, error) {
	inst := w.GCPLocked().Instances[instanceKey]
	if inst == nil {
		return nil, fmt.Errorf("instance %s does not exist", instanceKey)
	}
	if inst.Status != GCERunning {
		return nil, fmt.Errorf("instance %s is %s; its metadata server is not serving", instanceKey, inst.Status)
	}
	if inst.ServiceAccount == "" {
		return nil, fmt.Errorf("instance %s has no service account", instanceKey)
	}
	return w.GCPIssueTokenLocked(inst.ServiceAccount, "instance:"+instanceKey, "", time.Hour)
}

// GCPAuthenticateLocked resolves a bearer token. A token stays valid until
// it expires even if the VM it came from lost its service account; only
// disabling the account (or deleting it) revokes it early, and that revokes
// every token of the account at once.
func (w *World) GCPAuthenticateLocked(value string) (*GCPPrincipal, error) {
	g := w.GCPLocked()
	t := g.Tokens[value]
	if t == nil || !w.clock.Now().Before(t.Expires) {
		return nil, ErrGCPTokenInvalid
	}
	if t.Kind == "serviceAccount" {
		sa := g.ServiceAccounts[t.Principal]
		if sa == nil {
			return nil, ErrGCPTokenInvalid
		}
		if w.gcpDisabledLocked(sa) {
			return nil, ErrGCPAccountDisabled
		}
	}
	return &GCPPrincipal{Email: t.Principal, Kind: t.Kind, Token: t}, nil
}

// GCPSetServiceAccountDisabledLocked disables or enables a service account.
// Reads of the account show the change at once; token checks and token
// issuance apply it to every token, key and VM using the account at once
// too, or, through the wire (GCPServiceAccountChangeLocked), once it has
// propagated (Knobs.GCPDisablePropagation: documented as immediate, which
// is the default).
func (w *World) GCPSetServiceAccountDisabledLocked(email string, disabled bool) error {
	sa := w.GCPLocked().ServiceAccounts[email]
	if sa == nil {
		return fmt.Errorf("service account %s does not exist", email)
	}
	sa.Disabled = disabled
	return nil
}

// gcpDisabledLocked is whether token checks treat the account as disabled:
// its state, unless a change to it is still propagating.
func (w *World) gcpDisabledLocked(sa *GCPServiceAccount) bool {
	if w.prop != nil {
		if d, ok := seenLocked(w.prop.gcp, sa.Email); ok {
			return d
		}
	}
	return sa.Disabled
}

// GCPServiceAccountUsersLocked lists the VMs running as a service account:
// the blast radius of disabling it.
func (w *World) GCPServiceAccountUsersLocked(email string) []string {
	g := w.GCPLocked()
	var out []string
	for _, k := range SortedKeys(g.Instances) {
		if g.Instances[k].ServiceAccount == email {
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
}

// GCPRoleKnown reports whether the simulator models role.
func GCPRoleKnown(role string) bool { _, ok := gcpRolePermissions[role]; return ok }

// GCPAllowedLocked reports whether member holds permission on project
// through the project's IAM policy.
func (w *World) GCPAllowedLocked(project, member, permission string) bool {
	p := w.GCPLocked().Projects[project]
	if p == nil {
		return false
	}
	for _, role := range SortedKeys(p.Bindings) {
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

// sortedStrings returns a sorted copy.
func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
