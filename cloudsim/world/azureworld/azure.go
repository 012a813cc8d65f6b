package azureworld

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
)

// Ext is the extension-store key of the Azure state.
const Ext = "azure"

// Token lifetimes. A client-credential token lives about an hour; a managed
// identity's token is cached and honoured for about 24 hours, and "it is not
// possible to force a managed identity's token to be refreshed" (Entra
// managed-identities FAQ): removing the identity does not revoke it.
const (
	AppTokenTTL = time.Hour
	MITokenTTL  = 24 * time.Hour
)

// Built-in role definition names (GUIDs), as Azure spells them.
const (
	RoleOwner               = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor         = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader              = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleVMContributor       = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
	RoleBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	// RoleResponder is firedrill's custom incident-responder role.
	RoleResponder = "f1ed7111-0000-4000-8000-000000000001"
)

// State is everything Azure-specific in the world.
type State struct {
	w *world.World
	// deleted holds the role assignments authorization goes on honouring
	// while their deletion propagates (RoleAssignmentChange).
	deleted *world.Lags[*RoleAssignment]

	Tenant          string
	Subscriptions   world.Table[*Subscription]   // by subscription id
	Principals      world.Table[*Principal]      // by object id
	Tokens          world.Table[*Token]          // by token id (uti claim)
	RoleDefinitions world.Table[*RoleDefinition] // by GUID name
	RoleAssignments world.Table[*RoleAssignment] // by lower-cased id
	Locks           world.Table[*Lock]           // by lower-cased id
	VMs             world.Table[*VM]             // by lower-cased id
	Disks           world.Table[*Disk]           // by lower-cased id
	NSGs            world.Table[*NSG]            // by lower-cased id
	NICs            world.Table[string]          // lower-cased id -> canonical ENI id
	VNets           world.Table[string]          // lower-cased id -> canonical VPC id
	Subnets         world.Table[string]          // lower-cased id -> canonical subnet id
	Snapshots       world.Table[string]          // lower-cased id -> canonical snapshot id
	ScaleSets       world.Table[*ScaleSet]       // by lower-cased id
	Storage         world.Table[*StorageAccount] // by account name
	RunCommands     world.Table[*RunCommand]     // by operation id
	Operations      world.Table[*Operation]      // by operation id
	// ReleasedPublicIPs: NIC id -> deallocation released its dynamic public
	// IP, which a start gives back (a new address).
	ReleasedPublicIPs world.Table[bool]
	// UncommittedBlocks: "<account>/<container>/<blob>" -> block id -> the
	// blocks Put Block staged and Put Block List has not committed yet.
	UncommittedBlocks world.Table[map[string][]byte]
	// DefenderPlans: subscription id -> Defender for Servers is on.
	DefenderPlans world.Table[bool]
}

// Subscription is a subscription and its resource groups.
type Subscription struct {
	ID, Name, Tenant, Location string
	ResourceGroups             map[string]*ResourceGroup // by lower-cased name
}

// ResourceGroup is a resource group.
type ResourceGroup struct {
	Name, Location string
	Tags           world.Tags
}

// Principal kinds.
const (
	ServicePrincipal = "ServicePrincipal"
	ManagedIdentity  = "ManagedIdentity"
)

// Principal is an Entra ID service principal: an application with a
// client secret, or a VM's system-assigned managed identity.
type Principal struct {
	ObjectID, AppID, DisplayName string
	Kind                         string
	Secret                       string
	VM                           string // managed identity: the VM it belongs to
	// Deleted: a system-assigned identity's service principal is deleted
	// when the identity is removed from the VM. Tokens already issued to it
	// stay valid until they expire.
	Deleted bool
}

// Token is an access token the simulated Entra ID issued.
type Token struct {
	ID                      string // uti claim
	ObjectID, AppID, Tenant string
	Audience                string
	Source                  string // "client_credentials" or "imds:<vm id>"
	IssuedAt, Expires       time.Time
	SourceIP                string // first address the token was used from
	ResourceID              string // xms_mirid: the VM of a managed identity
}

// RoleDefinition is an RBAC role.
type RoleDefinition struct {
	Name, RoleName                      string // GUID, display name
	Actions, NotActions                 []string
	DataActions, NotDataActions         []string
	AssignableScopes                    []string
	Custom                              bool
	Description                         string
	actionsLower, notActionsLower       []string
	dataActionsLower, notDataActionsLow []string
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID, Name, Scope  string
	RoleDefinition   string // GUID name
	PrincipalID      string
	PrincipalType    string // "ServicePrincipal", "User", …
	CreatedOn        time.Time
	CreatedBy        string
	Description      string
	ConditionVersion string
}

// Lock is a management lock.
type Lock struct {
	ID, Name, Scope string
	Level           string // "CanNotDelete" or "ReadOnly"
	Notes           string
}

// VM is the Azure side of a VM (the Instance with the same ID holds
// the neutral side: state, NICs, disks, processes, CPU).
type VM struct {
	ID, Name, ResourceGroup, Subscription, Location string
	Size, VMID, ComputerName                        string
	IdentityType                                    string // "None", "SystemAssigned"
	PrincipalID                                     string
	ScaleSet                                        string // canonical scale-set id, "" if standalone
	InstanceID                                      string // index within the scale set
	ProtectFromScaleIn, ProtectFromScaleSetActions  bool
	PowerState                                      string // running, stopping, stopped, deallocating, deallocated
	OSDisk                                          string
	DataDisks                                       []string
	HibernationEnabled                              bool
	Deleted                                         bool
	TimeCreated                                     time.Time
}

// Disk is the Azure side of a managed disk.
type Disk struct {
	ID, Name, ResourceGroup, Subscription, Location string
	SKU, OSType                                     string
	// DeleteOption is what happens to the disk when its VM is deleted:
	// "Delete" (the default for scale-set VMs) or "Detach".
	DeleteOption string
	LUN          int // -1 for the OS disk
}

// NSG is a network security group.
type NSG struct {
	ID, Name, ResourceGroup, Subscription, Location string
	Rules                                           []Rule
	FlushConnection                                 bool
	Tags                                            world.Tags
	ETag                                            string
}

// Rule is one NSG security rule.
type Rule struct {
	Name, Description   string
	Priority            int
	Direction           string // "Inbound", "Outbound"
	Access              string // "Allow", "Deny"
	Protocol            string // "*", "Tcp", "Udp", "Icmp"
	SourcePrefixes      []string
	SourcePorts         []string
	DestinationPrefixes []string
	DestinationPorts    []string
}

// ScaleSet is a virtual machine scale set (flexible orchestration: its
// VMs are full VM resources named <scale set>_<instance id>).
type ScaleSet struct {
	ID, Name, ResourceGroup, Subscription, Location string
	Capacity                                        int
	Members                                         []string // canonical VM ids
	ScaleIn                                         []world.ScaleIn
	Autoscale                                       string // autoscale setting name, the caller of scale-in deletes
}

// StorageAccount is a storage account; each container is a world
// Bucket named "<account>/<container>".
type StorageAccount struct {
	Name, ResourceGroup, Subscription, Location string
	Containers                                  []string
}

// ID is the storage account's ARM id.
func (s *StorageAccount) ID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s", s.Subscription, s.ResourceGroup, s.Name)
}

// Operation is an asynchronous ARM operation's status monitor.
type Operation struct {
	ID, Resource, Namespace, Location, Subscription string
	Started                                         time.Time
	// RunCommand, when set, derives the status from the command.
	RunCommand string
	// FailCode/FailMessage mark an operation that failed.
	FailCode, FailMessage string
}

// Of returns the world's Azure state, creating it on first use. Call it,
// and every method of the state, with the world locked.
func Of(w *world.World) *State {
	return w.ExtLocked(Ext, func() any {
		return &State{w: w, deleted: world.NewLags[*RoleAssignment](propagationAzureRBAC), RoleDefinitions: builtinAzureRoles()}
	}).(*State)
}

// Has reports whether any Azure state exists, without creating it.
func Has(w *world.World) bool {
	return w.HasExtLocked(Ext)
}

func builtinAzureRoles() world.Table[*RoleDefinition] {
	authWrite := []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
		"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
		"Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action"}
	defs := []*RoleDefinition{
		{Name: RoleOwner, RoleName: "Owner", Actions: []string{"*"}, Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC."},
		{Name: RoleContributor, RoleName: "Contributor", Actions: []string{"*"}, NotActions: authWrite,
			Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries."},
		{Name: RoleReader, RoleName: "Reader", Actions: []string{"*/read"}, Description: "View all resources, but does not allow you to make any changes."},
		{Name: RoleVMContributor, RoleName: "Virtual Machine Contributor", Actions: []string{"Microsoft.Authorization/*/read",
			"Microsoft.Compute/*", "Microsoft.Network/*/read", "Microsoft.Network/networkInterfaces/*",
			"Microsoft.Insights/*/read", "Microsoft.Resources/*/read"}, Description: "Create and manage virtual machines."},
		{Name: RoleBlobDataContributor, RoleName: "Storage Blob Data Contributor",
			Actions:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/*"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
			Description: "Read, write, and delete Azure Storage containers and blobs."},
		{Name: RoleResponder, RoleName: "firedrill Incident Responder", Custom: true,
			Actions: []string{"*/read", "Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachineScaleSets/*",
				"Microsoft.Compute/snapshots/*", "Microsoft.Compute/disks/write", "Microsoft.Compute/locations/*",
				"Microsoft.Network/networkSecurityGroups/*", "Microsoft.Network/networkInterfaces/*",
				"Microsoft.Network/locations/*", "Microsoft.Authorization/locks/*",
				"Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleAssignments/delete",
				"Microsoft.Resources/tags/*", "Microsoft.Insights/*/read", "Microsoft.Security/*/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/*"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
			Description: "Contain and investigate a compromised VM: snapshot, isolate, lock, remove identity grants."},
	}
	var out world.Table[*RoleDefinition]
	for _, d := range defs {
		d.index()
		out.Put(d.Name, d)
	}
	return out
}

func (d *RoleDefinition) index() {
	low := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ToLower(s)
		}
		return out
	}
	d.actionsLower, d.notActionsLower = low(d.Actions), low(d.NotActions)
	d.dataActionsLower, d.notDataActionsLow = low(d.DataActions), low(d.NotDataActions)
}

// azureActionMatch matches an RBAC action pattern ("*", "Microsoft.Compute/*",
// "*/read", "Microsoft.Authorization/*/Write") against an action, both lower
// case: "*" matches any run of characters, including slashes.
func azureActionMatch(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == action
	}
	if !strings.HasPrefix(action, parts[0]) {
		return false
	}
	rest := action[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(rest, p)
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	return true
}

// Permits reports whether the role grants the action (data actions for the
// storage data plane).
func (d *RoleDefinition) Permits(action string, data bool) bool {
	a := strings.ToLower(action)
	allow, deny := d.actionsLower, d.notActionsLower
	if data {
		allow, deny = d.dataActionsLower, d.notDataActionsLow
	}
	ok := false
	for _, p := range allow {
		if azureActionMatch(p, a) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for _, p := range deny {
		if azureActionMatch(p, a) {
			return false
		}
	}
	return true
}

// ScopeCovers reports whether a role assignment or lock at scope
// applies to resource: the scope is the resource or one of its ancestors.
func ScopeCovers(scope, resource string) bool {
	s := strings.TrimSuffix(strings.ToLower(scope), "/")
	r := strings.TrimSuffix(strings.ToLower(resource), "/")
	return s == "" || s == "/" || r == s || strings.HasPrefix(r, s+"/")
}

// Authorize reports whether the principal holds a role assignment
// covering scope that grants action. Assignments are read at call time, so
// deleting one denies every token of the principal, once the deletion has
// propagated (DeleteRoleAssignment).
func (s *State) Authorize(objectID, action, scope string, data bool) bool {
	for _, ra := range s.authorizingAssignments() {
		if ra.PrincipalID != objectID || !ScopeCovers(ra.Scope, scope) {
			continue
		}
		if d := s.RoleDefinitions.Lookup(ra.RoleDefinition); d != nil && d.Permits(action, data) {
			return true
		}
	}
	return false
}

// ---- tenants, subscriptions, principals ---------------------------------

// AddSubscription registers a subscription (and the world Account
// with Cloud "azure"); the first one fixes the tenant.
func (s *State) AddSubscription(tenant, id, name, location string) *Subscription {
	if s.Tenant == "" {
		s.Tenant = tenant
	}
	sub := &Subscription{ID: id, Name: name, Tenant: tenant, Location: location, ResourceGroups: map[string]*ResourceGroup{}}
	s.Subscriptions.Put(id, sub)
	s.w.AddAccountLocked("azure", id, name, location)
	return sub
}

// AddResourceGroup creates a resource group.
func (s *State) AddResourceGroup(sub, name, location string) (*ResourceGroup, error) {
	subscription := s.Subscriptions.Lookup(sub)
	if subscription == nil {
		return nil, fmt.Errorf("subscription %s does not exist", sub)
	}
	rg := &ResourceGroup{Name: name, Location: location, Tags: world.Tags{}}
	subscription.ResourceGroups[strings.ToLower(name)] = rg
	return rg, nil
}

// AddApp registers an application's service principal with a
// client secret (the credential ClientSecretCredential presents).
func (s *State) AddApp(displayName string) *Principal {
	p := &Principal{ObjectID: s.w.GUIDLocked(), AppID: s.w.GUIDLocked(), DisplayName: displayName,
		Kind: ServicePrincipal, Secret: s.w.NewSecretLocked()}
	s.Principals.Put(p.ObjectID, p)
	return p
}

// AppByClientID finds a live application by its client id.
func (s *State) AppByClientID(clientID string) *Principal {
	for _, p := range s.Principals.All() {
		if strings.EqualFold(p.AppID, clientID) && p.Kind == ServicePrincipal && !p.Deleted {
			return p
		}
	}
	return nil
}

// AssignRole creates a role assignment with a name drawn from the world's
// GUIDs.
func (s *State) AssignRole(scope, roleDefinition, principalID, createdBy string) (*RoleAssignment, error) {
	if err := s.assignable(roleDefinition, principalID); err != nil {
		return nil, err
	}
	return s.AssignRoleNamed(scope, s.w.GUIDLocked(), roleDefinition, principalID, createdBy)
}

func (s *State) assignable(roleDefinition, principalID string) error {
	if s.RoleDefinitions.Lookup(roleDefinition) == nil {
		return fmt.Errorf("role definition %s does not exist", roleDefinition)
	}
	if s.Principals.Lookup(principalID) == nil {
		return fmt.Errorf("principal %s does not exist", principalID)
	}
	return nil
}

// AssignRoleNamed creates a role assignment with the name (a GUID) its
// creator chose, as a client's PUT does. Unlike a deletion, a new
// assignment authorizes at once.
func (s *State) AssignRoleNamed(scope, name, roleDefinition, principalID, createdBy string) (*RoleAssignment, error) {
	if err := s.assignable(roleDefinition, principalID); err != nil {
		return nil, err
	}
	ra := &RoleAssignment{ID: strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name,
		Name: name, Scope: scope, RoleDefinition: roleDefinition, PrincipalID: principalID,
		PrincipalType: "ServicePrincipal", CreatedOn: s.w.Now(), CreatedBy: createdBy}
	s.RoleAssignments.Put(strings.ToLower(ra.ID), ra)
	s.deleted.Forget(strings.ToLower(ra.ID))
	return ra, nil
}

// DeleteRoleAssignment deletes a role assignment. Listing and
// reading assignments shows it gone at once; through the wire
// (RoleAssignmentChange) authorization goes on honouring it
// until the deletion has propagated: Azure Resource Manager caches role
// assignments, and changes "can take up to 10 minutes" to take effect
// ("Troubleshoot Azure RBAC"; Knobs.AzureRBACPropagation).
func (s *State) DeleteRoleAssignment(ra *RoleAssignment) {
	s.RoleAssignments.Delete(strings.ToLower(ra.ID))
}

// authorizingAssignments lists, by id, the assignments
// authorization honours: the live ones and those whose deletion is still
// propagating.
func (s *State) authorizingAssignments() []*RoleAssignment {
	if s.deleted.Len() == 0 {
		out := make([]*RoleAssignment, 0, s.RoleAssignments.Len())
		for _, ra := range s.RoleAssignments.All() {
			out = append(out, ra)
		}
		return out
	}
	all := map[string]*RoleAssignment{}
	for id, ra := range s.RoleAssignments.All() {
		all[id] = ra
	}
	for id, seen := range s.deleted.All() {
		if seen != nil {
			all[id] = seen
		}
	}
	out := make([]*RoleAssignment, 0, len(all))
	for _, id := range world.SortedKeys(all) {
		out = append(out, all[id])
	}
	return out
}

// RoleAssignmentsOf lists a principal's assignments by id.
func (s *State) RoleAssignmentsOf(principalID string) []*RoleAssignment {
	var out []*RoleAssignment
	for _, ra := range s.RoleAssignments.All() {
		if ra.PrincipalID == principalID {
			out = append(out, ra)
		}
	}
	return out
}

// ---- tokens ----------------------------------------------------------------

// TokenClaims are the claims of a simulated Entra ID access token.
type TokenClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Iat   int64  `json:"iat"`
	Nbf   int64  `json:"nbf"`
	Exp   int64  `json:"exp"`
	AppID string `json:"appid"`
	IDTyp string `json:"idtyp"`
	OID   string `json:"oid"`
	Sub   string `json:"sub"`
	TID   string `json:"tid"`
	UTI   string `json:"uti"`
	Ver   string `json:"ver"`
	MIRID string `json:"xms_mirid,omitempty"`
}

// IssueToken mints an unsigned JWT (alg "none") for a principal;
// the simulator reads the caller back from it on every request and checks
// it against the token record, so a forged token is rejected.
func (s *State) IssueToken(objectID, audience, source string, ttl time.Duration) (string, *Token, error) {
	p := s.Principals.Lookup(objectID)
	if p == nil || p.Deleted {
		return "", nil, fmt.Errorf("principal %s does not exist", objectID)
	}
	now := s.w.Now()
	t := &Token{ID: s.newUTI(), ObjectID: objectID, AppID: p.AppID, Tenant: s.Tenant, Audience: audience,
		Source: source, IssuedAt: now, Expires: now.Add(ttl), ResourceID: p.VM}
	s.Tokens.Put(t.ID, t)
	claims := TokenClaims{Aud: audience, Iss: "https://sts.windows.net/" + s.Tenant + "/", Iat: now.Unix(),
		Nbf: now.Unix(), Exp: t.Expires.Unix(), AppID: p.AppID, IDTyp: "app", OID: objectID, Sub: objectID,
		TID: s.Tenant, UTI: t.ID, Ver: "1.0", MIRID: p.VM}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", nil, fmt.Errorf("encoding token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + ".", t, nil
}

// newUTI draws a token id (the uti claim).
func (s *State) newUTI() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[s.w.IDRandLocked().IntN(len(alphabet))]
	}
	return string(b)
}

// Azure authentication errors.
var (
	ErrInvalidToken = errors.New("InvalidAuthenticationToken")
	ErrExpiredToken = errors.New("ExpiredAuthenticationToken")
)

// ParseToken decodes a bearer token's claims without any checks.
func ParseToken(raw string) (*TokenClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: the access token is not a JWT", ErrInvalidToken)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: the access token payload is not base64url", ErrInvalidToken)
	}
	var c TokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: the access token payload is not JSON", ErrInvalidToken)
	}
	return &c, nil
}

// AuthenticateToken validates a bearer token against the token
// records at now: it must be one the simulated Entra ID issued, unexpired.
// A token of a principal deleted since (a removed system-assigned identity)
// is still honoured: that is Azure's behaviour, not a simplification.
func (s *State) AuthenticateToken(raw string, now time.Time) (*Token, *TokenClaims, error) {
	c, err := ParseToken(raw)
	if err != nil {
		return nil, nil, err
	}
	t := s.Tokens.Lookup(c.UTI)
	if t == nil || t.ObjectID != c.OID || t.Expires.Unix() != c.Exp {
		return nil, c, fmt.Errorf("%w: the access token is invalid", ErrInvalidToken)
	}
	if !now.Before(t.Expires) {
		return t, c, fmt.Errorf("%w: The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			ErrExpiredToken, t.Expires.UTC().Format("1/2/2006 3:04:05 PM"), now.UTC().Format("1/2/2006 3:04:05 PM"))
	}
	return t, c, nil
}

// IMDSToken is what the instance metadata service hands anything
// running on the VM, an attacker included: a token for the VM's managed
// identity, valid for 24 hours whatever happens to the identity later.
func (s *State) IMDSToken(vmID, audience string) (string, *Token, error) {
	vm := s.VM(vmID)
	if vm == nil || vm.Deleted {
		return "", nil, world.NotFound("virtual-machine", vmID)
	}
	if vm.PowerState != "running" {
		return "", nil, &world.ComputeError{Kind: world.KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("VM %s is %s: its metadata service is not reachable", vm.Name, vm.PowerState)}
	}
	if vm.IdentityType == "" || vm.IdentityType == "None" || vm.PrincipalID == "" {
		return "", nil, &world.ComputeError{Kind: world.KindNotFound, Resource: "identity", ID: vm.ID,
			Msg: "Identity not found: the VM has no managed identity"}
	}
	if audience == "" {
		audience = "https://management.azure.com/"
	}
	return s.IssueToken(vm.PrincipalID, audience, "imds:"+vm.ID, MITokenTTL)
}

// ---- locks -------------------------------------------------------------------

// LockBlocking returns the first lock covering resource that
// forbids the operation (delete, or with write also a ReadOnly lock).
func (s *State) LockBlocking(resource string, write bool) *Lock {
	for _, l := range s.Locks.All() {
		if !ScopeCovers(l.Scope, resource) {
			continue
		}
		if !write || l.Level == "ReadOnly" {
			return l
		}
	}
	return nil
}

// PutLock creates or updates a management lock at scope.
func (s *State) PutLock(scope, name, level, notes string) (*Lock, bool, error) {
	if level != "CanNotDelete" && level != "ReadOnly" {
		return nil, false, &world.ComputeError{Kind: world.KindInvalid, Resource: "lock", ID: name,
			Msg: fmt.Sprintf("The lock level '%s' is not valid. Valid values are 'CanNotDelete' and 'ReadOnly'.", level)}
	}
	id := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/locks/" + name
	key := strings.ToLower(id)
	l, existed := s.Locks.Get(key)
	if !existed {
		l = &Lock{ID: id, Name: name, Scope: scope}
		s.Locks.Put(key, l)
	}
	l.Level, l.Notes = level, notes
	return l, !existed, nil
}

// DefenderDetector is the Finding.Detector of a subscription's
// Defender for Cloud alerts.
func DefenderDetector(sub string) string { return "defender/" + sub }

// propagationAzureRBAC is the stream Azure's propagation delays draw from.
const propagationAzureRBAC = "propagation/azure-rbac"

// RoleAssignmentChange applies change, a change made through the
// wire to the role assignment id, so that authorization goes on honouring a
// deleted assignment until the deletion has propagated
// (Knobs.AzureRBACPropagation): Azure Resource Manager caches role
// assignments. Only deletions lag (a creation authorizes at once).
func (s *State) RoleAssignmentChange(id string, change func() error) error {
	id = strings.ToLower(id)
	state := func() *RoleAssignment { return s.RoleAssignments.Lookup(id) }
	deleted := func(before, after *RoleAssignment) bool { return before != nil && after == nil }
	return s.deleted.ChangeLocked(s.w, id, state, change,
		func(b, a *RoleAssignment) bool { return !deleted(b, a) }, s.w.KnobsLocked().AzureRBACPropagation)
}
