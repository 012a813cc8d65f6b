package world

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Azure model. Azure entities reuse the neutral types where they fit: a VM
// is an Instance, a managed disk a Volume, a NIC an ENI, a snapshot a
// Snapshot, a VNet a VPC, a Defender alert a Finding, an Activity Log entry
// an AuditEvent with Cloud "azure". Their world IDs are the canonical ARM
// resource IDs, so a responder reads back exactly the IDs Azure would give.
// Everything only Azure has (principals and tokens, role assignments, locks,
// NSGs with priorities, scale sets, Run Command) lives in AzureState, kept
// in the world's extension store under AzureExt.

// AzureExt is the extension-store key of the Azure state.
const AzureExt = "azure"

// Token lifetimes. A client-credential token lives about an hour; a managed
// identity's token is cached and honoured for about 24 hours, and "it is not
// possible to force a managed identity's token to be refreshed" (Entra
// managed-identities FAQ): removing the identity does not revoke it.
const (
	AzureAppTokenTTL = time.Hour
	AzureMITokenTTL  = 24 * time.Hour
)

// Built-in role definition names (GUIDs), as Azure spells them.
const (
	AzureRoleOwner               = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	AzureRoleContributor         = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	AzureRoleReader              = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	AzureRoleVMContributor       = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
	AzureRoleBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	// AzureRoleResponder is firedrill's custom incident-responder role.
	AzureRoleResponder = "f1ed7111-0000-4000-8000-000000000001"
)

// AzureState is everything Azure-specific in the world.
type AzureState struct {
	Tenant          string
	Subscriptions   map[string]*AzureSubscription   // by subscription id
	Principals      map[string]*AzurePrincipal      // by object id
	Tokens          map[string]*AzureToken          // by token id (uti claim)
	RoleDefinitions map[string]*AzureRoleDefinition // by GUID name
	RoleAssignments map[string]*AzureRoleAssignment // by lower-cased id
	Locks           map[string]*AzureLock           // by lower-cased id
	VMs             map[string]*AzureVM             // by lower-cased id
	Disks           map[string]*AzureDisk           // by lower-cased id
	NSGs            map[string]*AzureNSG            // by lower-cased id
	NICs            map[string]string               // lower-cased id -> canonical ENI id
	VNets           map[string]string               // lower-cased id -> canonical VPC id
	Subnets         map[string]string               // lower-cased id -> canonical subnet id
	Snapshots       map[string]string               // lower-cased id -> canonical snapshot id
	ScaleSets       map[string]*AzureScaleSet       // by lower-cased id
	Storage         map[string]*AzureStorageAccount // by account name
	RunCommands     map[string]*AzureRunCommand     // by operation id
	Operations      map[string]*AzureOperation      // by operation id
	// DefenderPlans: subscription id -> Defender for Servers is on.
	DefenderPlans map[string]bool
}

// AzureSubscription is a subscription and its resource groups.
type AzureSubscription struct {
	ID, Name, Tenant, Location string
	ResourceGroups             map[string]*AzureResourceGroup // by lower-cased name
}

// AzureResourceGroup is a resource group.
type AzureResourceGroup struct {
	Name, Location string
	Tags           Tags
}

// Principal kinds.
const (
	AzureServicePrincipal = "ServicePrincipal"
	AzureManagedIdentity  = "ManagedIdentity"
)

// AzurePrincipal is an Entra ID service principal: an application with a
// client secret, or a VM's system-assigned managed identity.
type AzurePrincipal struct {
	ObjectID, AppID, DisplayName string
	Kind                         string
	Secret                       string
	VM                           string // managed identity: the VM it belongs to
	// Deleted: a system-assigned identity's service principal is deleted
	// when the identity is removed from the VM. Tokens already issued to it
	// stay valid until they expire.
	Deleted bool
}

// AzureToken is an access token the simulated Entra ID issued.
type AzureToken struct {
	ID                      string // uti claim
	ObjectID, AppID, Tenant string
	Audience                string
	Source                  string // "client_credentials" or "imds:<vm id>"
	IssuedAt, Expires       time.Time
	SourceIP                string // first address the token was used from
	ResourceID              string // xms_mirid: the VM of a managed identity
}

// AzureRoleDefinition is an RBAC role.
type AzureRoleDefinition struct {
	Name, RoleName                      string // GUID, display name
	Actions, NotActions                 []string
	DataActions, NotDataActions         []string
	AssignableScopes                    []string
	Custom                              bool
	Description                         string
	actionsLower, notActionsLower       []string
	dataActionsLower, notDataActionsLow []string
}

// AzureRoleAssignment grants a role to a principal at a scope.
type AzureRoleAssignment struct {
	ID, Name, Scope  string
	RoleDefinition   string // GUID name
	PrincipalID      string
	PrincipalType    string // "ServicePrincipal", "User", …
	CreatedOn        time.Time
	CreatedBy        string
	Description      string
	ConditionVersion string
}

// AzureLock is a management lock.
type AzureLock struct {
	ID, Name, Scope string
	Level           string // "CanNotDelete" or "ReadOnly"
	Notes           string
}

// AzureVM is the Azure side of a VM (the Instance with the same ID holds
// the neutral side: state, NICs, disks, processes, CPU).
type AzureVM struct {
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

// AzureDisk is the Azure side of a managed disk.
type AzureDisk struct {
	ID, Name, ResourceGroup, Subscription, Location string
	SKU, OSType                                     string
	// DeleteOption is what happens to the disk when its VM is deleted:
	// "Delete" (the default for scale-set VMs) or "Detach".
	DeleteOption string
	LUN          int // -1 for the OS disk
}

// AzureNSG is a network security group.
type AzureNSG struct {
	ID, Name, ResourceGroup, Subscription, Location string
	Rules                                           []AzureRule
	FlushConnection                                 bool
	Tags                                            Tags
	ETag                                            string
}

// AzureRule is one NSG security rule.
type AzureRule struct {
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

// AzureScaleSet is a virtual machine scale set (flexible orchestration: its
// VMs are full VM resources named <scale set>_<instance id>).
type AzureScaleSet struct {
	ID, Name, ResourceGroup, Subscription, Location string
	Capacity                                        int
	Members                                         []string // canonical VM ids
	ScaleIn                                         []ScaleIn
	Autoscale                                       string // autoscale setting name, the caller of scale-in deletes
}

// AzureStorageAccount is a storage account; each container is a world
// Bucket named "<account>/<container>".
type AzureStorageAccount struct {
	Name, ResourceGroup, Subscription, Location string
	Containers                                  []string
}

// ID is the storage account's ARM id.
func (s *AzureStorageAccount) ID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s", s.Subscription, s.ResourceGroup, s.Name)
}

// AzureOperation is an asynchronous ARM operation's status monitor.
type AzureOperation struct {
	ID, Resource, Namespace, Location, Subscription string
	Started                                         time.Time
	// RunCommand, when set, derives the status from the command.
	RunCommand string
	// FailCode/FailMessage mark an operation that failed.
	FailCode, FailMessage string
}

// AzureLocked returns the Azure state, creating it on first use. Call with
// the world locked.
func (w *World) AzureLocked() *AzureState {
	return w.ExtLocked(AzureExt, func() any {
		return &AzureState{
			Subscriptions: map[string]*AzureSubscription{}, Principals: map[string]*AzurePrincipal{},
			Tokens: map[string]*AzureToken{}, RoleDefinitions: builtinAzureRoles(),
			RoleAssignments: map[string]*AzureRoleAssignment{}, Locks: map[string]*AzureLock{},
			VMs: map[string]*AzureVM{}, Disks: map[string]*AzureDisk{}, NSGs: map[string]*AzureNSG{},
			NICs: map[string]string{}, VNets: map[string]string{}, Subnets: map[string]string{},
			Snapshots: map[string]string{}, ScaleSets: map[string]*AzureScaleSet{},
			Storage: map[string]*AzureStorageAccount{}, RunCommands: map[string]*AzureRunCommand{},
			Operations: map[string]*AzureOperation{}, DefenderPlans: map[string]bool{},
		}
	}).(*AzureState)
}

// HasAzureLocked reports whether any Azure state exists, without creating it.
func (w *World) HasAzureLocked() bool {
	_, ok := w.ext[AzureExt]
	return ok
}

func builtinAzureRoles() map[string]*AzureRoleDefinition {
	authWrite := []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
		"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
		"Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action"}
	defs := []*AzureRoleDefinition{
		{Name: AzureRoleOwner, RoleName: "Owner", Actions: []string{"*"}, Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC."},
		{Name: AzureRoleContributor, RoleName: "Contributor", Actions: []string{"*"}, NotActions: authWrite,
			Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries."},
		{Name: AzureRoleReader, RoleName: "Reader", Actions: []string{"*/read"}, Description: "View all resources, but does not allow you to make any changes."},
		{Name: AzureRoleVMContributor, RoleName: "Virtual Machine Contributor", Actions: []string{"Microsoft.Authorization/*/read",
			"Microsoft.Compute/*", "Microsoft.Network/*/read", "Microsoft.Network/networkInterfaces/*",
			"Microsoft.Insights/*/read", "Microsoft.Resources/*/read"}, Description: "Create and manage virtual machines."},
		{Name: AzureRoleBlobDataContributor, RoleName: "Storage Blob Data Contributor",
			Actions:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/*"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"},
			Description: "Read, write, and delete Azure Storage containers and blobs."},
		{Name: AzureRoleResponder, RoleName: "firedrill Incident Responder", Custom: true,
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
	out := map[string]*AzureRoleDefinition{}
	for _, d := range defs {
		d.index()
		out[d.Name] = d
	}
	return out
}

func (d *AzureRoleDefinition) index() {
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
func (d *AzureRoleDefinition) Permits(action string, data bool) bool {
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

// AzureScopeCovers reports whether a role assignment or lock at scope
// applies to resource: the scope is the resource or one of its ancestors.
func AzureScopeCovers(scope, resource string) bool {
	s := strings.TrimSuffix(strings.ToLower(scope), "/")
	r := strings.TrimSuffix(strings.ToLower(resource), "/")
	return s == "" || s == "/" || r == s || strings.HasPrefix(r, s+"/")
}

// AzureAuthorizeLocked reports whether the principal holds a role assignment
// covering scope that grants action. Assignments are read at call time, so
// deleting one denies every token of the principal, once the deletion has
// propagated (DeleteAzureRoleAssignmentLocked).
func (w *World) AzureAuthorizeLocked(objectID, action, scope string, data bool) bool {
	az := w.AzureLocked()
	for _, ra := range w.azureAuthorizingAssignmentsLocked() {
		if ra.PrincipalID != objectID || !AzureScopeCovers(ra.Scope, scope) {
			continue
		}
		if d := az.RoleDefinitions[ra.RoleDefinition]; d != nil && d.Permits(action, data) {
			return true
		}
	}
	return false
}

// ---- tenants, subscriptions, principals ---------------------------------

// AddAzureSubscriptionLocked registers a subscription (and the world Account
// with Cloud "azure"); the first one fixes the tenant.
func (w *World) AddAzureSubscriptionLocked(tenant, id, name, location string) *AzureSubscription {
	az := w.AzureLocked()
	if az.Tenant == "" {
		az.Tenant = tenant
	}
	s := &AzureSubscription{ID: id, Name: name, Tenant: tenant, Location: location, ResourceGroups: map[string]*AzureResourceGroup{}}
	az.Subscriptions[id] = s
	w.AddAccountLocked("azure", id, name, location)
	return s
}

// AddAzureResourceGroupLocked creates a resource group.
func (w *World) AddAzureResourceGroupLocked(sub, name, location string) (*AzureResourceGroup, error) {
	s := w.AzureLocked().Subscriptions[sub]
	if s == nil {
		return nil, fmt.Errorf("subscription %s does not exist", sub)
	}
	rg := &AzureResourceGroup{Name: name, Location: location, Tags: Tags{}}
	s.ResourceGroups[strings.ToLower(name)] = rg
	return rg, nil
}

// AddAzureAppLocked registers an application's service principal with a
// client secret (the credential ClientSecretCredential presents).
func (w *World) AddAzureAppLocked(displayName string) *AzurePrincipal {
	az := w.AzureLocked()
	p := &AzurePrincipal{ObjectID: w.GUIDLocked(), AppID: w.GUIDLocked(), DisplayName: displayName,
		Kind: AzureServicePrincipal, Secret: w.NewSecretLocked()}
	az.Principals[p.ObjectID] = p
	return p
}

// AzureAppByClientIDLocked finds a live application by its client id.
func (w *World) AzureAppByClientIDLocked(clientID string) *AzurePrincipal {
	az := w.AzureLocked()
	for _, id := range SortedKeys(az.Principals) {
		if p := az.Principals[id]; strings.EqualFold(p.AppID, clientID) && p.Kind == AzureServicePrincipal && !p.Deleted {
			return p
		}
	}
	return nil
}

// AssignAzureRoleLocked creates a role assignment.
func (w *World) AssignAzureRoleLocked(scope, roleDefinition, principalID, createdBy string) (*AzureRoleAssignment, error) {
	az := w.AzureLocked()
	if az.RoleDefinitions[roleDefinition] == nil {
		return nil, fmt.Errorf("role definition %s does not exist", roleDefinition)
	}
	p := az.Principals[principalID]
	if p == nil {
		return nil, fmt.Errorf("principal %s does not exist", principalID)
	}
	name := w.GUIDLocked()
	ra := &AzureRoleAssignment{ID: strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name,
		Name: name, Scope: scope, RoleDefinition: roleDefinition, PrincipalID: principalID,
		PrincipalType: "ServicePrincipal", CreatedOn: w.clock.Now(), CreatedBy: createdBy}
	az.RoleAssignments[strings.ToLower(ra.ID)] = ra
	if w.prop != nil {
		w.prop.azure.Forget(strings.ToLower(ra.ID))
	}
	return ra, nil
}

// DeleteAzureRoleAssignmentLocked deletes a role assignment. Listing and
// reading assignments shows it gone at once; through the wire
// (AzureRoleAssignmentChangeLocked) authorization goes on honouring it
// until the deletion has propagated: Azure Resource Manager caches role
// assignments, and changes "can take up to 10 minutes" to take effect
// ("Troubleshoot Azure RBAC"; Knobs.AzureRBACPropagation).
func (w *World) DeleteAzureRoleAssignmentLocked(ra *AzureRoleAssignment) {
	delete(w.AzureLocked().RoleAssignments, strings.ToLower(ra.ID))
}

// azureAuthorizingAssignmentsLocked lists, by id, the assignments
// authorization honours: the live ones and those whose deletion is still
// propagating.
func (w *World) azureAuthorizingAssignmentsLocked() []*AzureRoleAssignment {
	az := w.AzureLocked()
	all := az.RoleAssignments
	if w.prop != nil {
		cloned := false
		for id, seen := range w.prop.azure.All() {
			if !cloned {
				all, cloned = maps.Clone(all), true
			}
			if seen != nil {
				all[id] = seen
			}
		}
	}
	out := make([]*AzureRoleAssignment, 0, len(all))
	for _, id := range SortedKeys(all) {
		out = append(out, all[id])
	}
	return out
}

// AzureRoleAssignmentsOfLocked lists a principal's assignments by id.
func (w *World) AzureRoleAssignmentsOfLocked(principalID string) []*AzureRoleAssignment {
	az := w.AzureLocked()
	var out []*AzureRoleAssignment
	for _, id := range SortedKeys(az.RoleAssignments) {
		if ra := az.RoleAssignments[id]; ra.PrincipalID == principalID {
			out = append(out, ra)
		}
	}
	return out
}

// ---- tokens ----------------------------------------------------------------

// AzureTokenClaims are the claims of a simulated Entra ID access token.
type AzureTokenClaims struct {
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

// IssueAzureTokenLocked mints an unsigned JWT (alg "none") for a principal;
// the simulator reads the caller back from it on every request and checks
// it against the token record, so a forged token is rejected.
func (w *World) IssueAzureTokenLocked(objectID, audience, source string, ttl time.Duration) (string, *AzureToken, error) {
	az := w.AzureLocked()
	p := az.Principals[objectID]
	if p == nil || p.Deleted {
		return "", nil, fmt.Errorf("principal %s does not exist", objectID)
	}
	now := w.clock.Now()
	t := &AzureToken{ID: azureUTI(w), ObjectID: objectID, AppID: p.AppID, Tenant: az.Tenant, Audience: audience,
		Source: source, IssuedAt: now, Expires: now.Add(ttl), ResourceID: p.VM}
	az.Tokens[t.ID] = t
	claims := AzureTokenClaims{Aud: audience, Iss: "https://sts.windows.net/" + az.Tenant + "/", Iat: now.Unix(),
		Nbf: now.Unix(), Exp: t.Expires.Unix(), AppID: p.AppID, IDTyp: "app", OID: objectID, Sub: objectID,
		TID: az.Tenant, UTI: t.ID, Ver: "1.0", MIRID: p.VM}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", nil, fmt.Errorf("encoding token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + ".", t, nil
}

func azureUTI(w *World) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[w.ids.IntN(len(alphabet))]
	}
	return string(b)
}

// Azure authentication errors.
var (
	ErrAzureInvalidToken = errors.New("InvalidAuthenticationToken")
	ErrAzureExpiredToken = errors.New("ExpiredAuthenticationToken")
)

// ParseAzureToken decodes a bearer token's claims without any checks.
func ParseAzureToken(raw string) (*AzureTokenClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: the access token is not a JWT", ErrAzureInvalidToken)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: the access token payload is not base64url", ErrAzureInvalidToken)
	}
	var c AzureTokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: the access token payload is not JSON", ErrAzureInvalidToken)
	}
	return &c, nil
}

// AuthenticateAzureTokenLocked validates a bearer token against the token
// records at now: it must be one the simulated Entra ID issued, unexpired.
// A token of a principal deleted since (a removed system-assigned identity)
// is still honoured: that is Azure's behaviour, not a simplification.
func (w *World) AuthenticateAzureTokenLocked(raw string, now time.Time) (*AzureToken, *AzureTokenClaims, error) {
	c, err := ParseAzureToken(raw)
	if err != nil {
		return nil, nil, err
	}
	t := w.AzureLocked().Tokens[c.UTI]
	if t == nil || t.ObjectID != c.OID || t.Expires.Unix() != c.Exp {
		return nil, c, fmt.Errorf("%w: the access token is invalid", ErrAzureInvalidToken)
	}
	if !now.Before(t.Expires) {
		return t, c, fmt.Errorf("%w: The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			ErrAzureExpiredToken, t.Expires.UTC().Format("1/2/2006 3:04:05 PM"), now.UTC().Format("1/2/2006 3:04:05 PM"))
	}
	return t, c, nil
}

// AzureIMDSTokenLocked is what the instance metadata service hands anything
// running on the VM, an attacker included: a token for the VM's managed
// identity, valid for 24 hours whatever happens to the identity later.
func (w *World) AzureIMDSTokenLocked(vmID, audience string) (string, *AzureToken, error) {
	vm := w.AzureVMLocked(vmID)
	if vm == nil || vm.Deleted {
		return "", nil, notFound("virtual-machine", vmID)
	}
	if vm.PowerState != "running" {
		return "", nil, &ComputeError{Kind: KindIncorrectState, Resource: "virtual-machine", ID: vm.ID,
			Msg: fmt.Sprintf("VM %s is %s: its metadata service is not reachable", vm.Name, vm.PowerState)}
	}
	if vm.IdentityType == "" || vm.IdentityType == "None" || vm.PrincipalID == "" {
		return "", nil, &ComputeError{Kind: KindNotFound, Resource: "identity", ID: vm.ID,
			Msg: "Identity not found: the VM has no managed identity"}
	}
	if audience == "" {
		audience = "https://management.azure.com/"
	}
	return w.IssueAzureTokenLocked(vm.PrincipalID, audience, "imds:"+vm.ID, AzureMITokenTTL)
}

// ---- locks -------------------------------------------------------------------

// AzureLockBlockingLocked returns the first lock covering resource that
// forbids the operation (delete, or with write also a ReadOnly lock).
func (w *World) AzureLockBlockingLocked(resource string, write bool) *AzureLock {
	az := w.AzureLocked()
	for _, id := range SortedKeys(az.Locks) {
		l := az.Locks[id]
		if !AzureScopeCovers(l.Scope, resource) {
			continue
		}
		if !write || l.Level == "ReadOnly" {
			return l
		}
	}
	return nil
}

// PutAzureLockLocked creates or updates a management lock at scope.
func (w *World) PutAzureLockLocked(scope, name, level, notes string) (*AzureLock, bool, error) {
	if level != "CanNotDelete" && level != "ReadOnly" {
		return nil, false, &ComputeError{Kind: KindInvalid, Resource: "lock", ID: name,
			Msg: fmt.Sprintf("The lock level '%s' is not valid. Valid values are 'CanNotDelete' and 'ReadOnly'.", level)}
	}
	az := w.AzureLocked()
	id := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/locks/" + name
	key := strings.ToLower(id)
	l, existed := az.Locks[key]
	if !existed {
		l = &AzureLock{ID: id, Name: name, Scope: scope}
		az.Locks[key] = l
	}
	l.Level, l.Notes = level, notes
	return l, !existed, nil
}

// AzureDefenderDetector is the Finding.Detector of a subscription's
// Defender for Cloud alerts.
func AzureDefenderDetector(sub string) string { return "defender/" + sub }
