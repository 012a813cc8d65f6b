package gcpsim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	iamv1 "google.golang.org/api/iam/v1"

	"github.com/firedrill-ir/firedrill/cloudsim/world/gcpworld"
)

func iamRoutes() []*route {
	const sa = "v1/projects/{project}/serviceAccounts/"
	i := "iam"
	return []*route{
		r("POST", sa+"{sa}:disable", i, "serviceAccounts.disable", "", false, 200*time.Millisecond, saSetDisabled(true)),
		r("POST", sa+"{sa}:enable", i, "serviceAccounts.enable", "", false, 200*time.Millisecond, saSetDisabled(false)),
		r("GET", sa+"{sa}", i, "serviceAccounts.get", "", true, 80*time.Millisecond, saGet),
		r("GET", "v1/projects/{project}/serviceAccounts", i, "serviceAccounts.list", "", true, 120*time.Millisecond, saList),
		r("GET", sa+"{sa}/keys", i, "serviceAccounts.keys.list", "", true, 100*time.Millisecond, keyList),
		r("POST", sa+"{sa}/keys", i, "serviceAccounts.keys.create", "", false, 400*time.Millisecond, keyCreate),
		r("POST", sa+"{sa}/keys/{key}:disable", i, "serviceAccounts.keys.disable", "", false, 200*time.Millisecond, keySetDisabled(true)),
		r("POST", sa+"{sa}/keys/{key}:enable", i, "serviceAccounts.keys.enable", "", false, 200*time.Millisecond, keySetDisabled(false)),
		r("GET", sa+"{sa}/keys/{key}", i, "serviceAccounts.keys.get", "", true, 80*time.Millisecond, keyGet),
	}
}

// serviceAccountFor resolves {project}/{sa} ("-" as project means any;
// {sa} is the email or the unique id) and checks perm on its project.
func (c *call) serviceAccountFor(perm string) (*gcpworld.ServiceAccount, *apiError) {
	g := gcpworld.Of(c.w)
	id := c.vars["sa"]
	sa := g.ServiceAccounts.Lookup(id)
	if sa == nil {
		for _, e := range g.ServiceAccounts.Keys() {
			if g.ServiceAccounts.Lookup(e).UniqueID == id {
				sa = g.ServiceAccounts.Lookup(e)
			}
		}
	}
	project := c.vars["project"]
	if sa == nil || (project != "-" && sa.Project != project) {
		if project != "-" {
			if e := c.authorize(project, perm); e != nil {
				return nil, e
			}
		}
		return nil, &apiError{code: 404, status: "NOT_FOUND", message: fmt.Sprintf("Unknown service account: projects/%s/serviceAccounts/%s", project, id)}
	}
	if e := c.authorize(sa.Project, perm); e != nil {
		return nil, e
	}
	c.resource("service_account", fmt.Sprintf("projects/%s/serviceAccounts/%s", sa.Project, sa.Email),
		map[string]string{"email_id": sa.Email, "unique_id": sa.UniqueID, "project_id": sa.Project})
	return sa, nil
}

func saProto(sa *gcpworld.ServiceAccount) *iamv1.ServiceAccount {
	return &iamv1.ServiceAccount{Name: fmt.Sprintf("projects/%s/serviceAccounts/%s", sa.Project, sa.Email),
		ProjectId: sa.Project, UniqueId: sa.UniqueID, Email: sa.Email, DisplayName: sa.DisplayName,
		Etag: "MDEwMjE5MjA=", Disabled: sa.Disabled, Oauth2ClientId: sa.UniqueID}
}

func saGet(c *call) (any, *apiError) {
	sa, e := c.serviceAccountFor("iam.serviceAccounts.get")
	if e != nil {
		return nil, e
	}
	return saProto(sa), nil
}

func saList(c *call) (any, *apiError) {
	if e := c.authorize(c.vars["project"], "iam.serviceAccounts.list"); e != nil {
		return nil, e
	}
	c.resource("service_account", "projects/"+c.project, map[string]string{"project_id": c.project})
	g := gcpworld.Of(c.w)
	var all []*iamv1.ServiceAccount
	for _, e := range g.ServiceAccounts.Keys() {
		if sa := g.ServiceAccounts.Lookup(e); sa.Project == c.project {
			all = append(all, saProto(sa))
		}
	}
	size := 20
	if v := c.query.Get("pageSize"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 100 {
			size = n
		}
	}
	lo := 0
	if v := c.query.Get("pageToken"); v != "" {
		o, err := strconv.Atoi(strings.TrimPrefix(v, "s"))
		if err != nil || o < 0 || o > len(all) {
			return nil, badRequest("iam", "Invalid page token '%s'", v)
		}
		lo = o
	}
	out := &iamv1.ListServiceAccountsResponse{}
	hi := lo + size
	if hi < len(all) {
		out.NextPageToken = fmt.Sprintf("s%d", hi)
	} else {
		hi = len(all)
	}
	out.Accounts = all[lo:hi]
	return out, nil
}

// saSetDisabled disables or enables a service account. Disabling is
// documented to take effect immediately: every access token the account
// holds is rejected from the next call on, on every VM and workload that
// runs as it (or after Knobs.GCPDisablePropagation, when a scenario models
// a slower world).
func saSetDisabled(disabled bool) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		perm := "iam.serviceAccounts.enable"
		if disabled {
			perm = "iam.serviceAccounts.disable"
		}
		sa, e := c.serviceAccountFor(perm)
		if e != nil {
			return nil, e
		}
		if err := gcpworld.Of(c.w).ServiceAccountChange(sa.Email, func() error {
			return gcpworld.Of(c.w).SetServiceAccountDisabled(sa.Email, disabled)
		}); err != nil {
			return nil, &apiError{code: 500, status: "INTERNAL", message: err.Error()}
		}
		return &iamv1.Empty{}, nil
	}
}

func keyProto(sa *gcpworld.ServiceAccount, k *gcpworld.ServiceAccountKey) *iamv1.ServiceAccountKey {
	origin := "GOOGLE_PROVIDED"
	return &iamv1.ServiceAccountKey{Name: fmt.Sprintf("projects/%s/serviceAccounts/%s/keys/%s", sa.Project, sa.Email, k.ID),
		KeyAlgorithm: "KEY_ALG_RSA_2048", KeyOrigin: origin, KeyType: k.Type, Disabled: k.Disabled,
		ValidAfterTime: k.Created.UTC().Format(time.RFC3339), ValidBeforeTime: k.Expires.UTC().Format(time.RFC3339)}
}

func keyList(c *call) (any, *apiError) {
	sa, e := c.serviceAccountFor("iam.serviceAccountKeys.list")
	if e != nil {
		return nil, e
	}
	types := c.query["keyTypes"]
	out := &iamv1.ListServiceAccountKeysResponse{}
	for _, k := range sa.Keys {
		if len(types) > 0 && !contains(types, k.Type) {
			continue
		}
		out.Keys = append(out.Keys, keyProto(sa, k))
	}
	return out, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (c *call) keyFor(sa *gcpworld.ServiceAccount) (*gcpworld.ServiceAccountKey, *apiError) {
	k := sa.Key(c.vars["key"])
	if k == nil {
		return nil, &apiError{code: 404, status: "NOT_FOUND",
			message: fmt.Sprintf("Service account key %s does not exist.", c.vars["key"])}
	}
	return k, nil
}

func keyGet(c *call) (any, *apiError) {
	sa, e := c.serviceAccountFor("iam.serviceAccountKeys.get")
	if e != nil {
		return nil, e
	}
	k, e := c.keyFor(sa)
	if e != nil {
		return nil, e
	}
	return keyProto(sa, k), nil
}

// keySetDisabled disables a user-managed key: new token grants signed with
// it fail; tokens already minted from it stay valid until they expire.
func keySetDisabled(disabled bool) func(c *call) (any, *apiError) {
	return func(c *call) (any, *apiError) {
		perm := "iam.serviceAccountKeys.enable"
		if disabled {
			perm = "iam.serviceAccountKeys.disable"
		}
		sa, e := c.serviceAccountFor(perm)
		if e != nil {
			return nil, e
		}
		k, e := c.keyFor(sa)
		if e != nil {
			return nil, e
		}
		if k.Type == "SYSTEM_MANAGED" {
			return nil, badRequest("iam", "Google-managed key %s cannot be disabled.", k.ID)
		}
		k.Disabled = disabled
		c.keyResource(sa, k)
		return &iamv1.Empty{}, nil
	}
}

// maxUserKeys is how many user-managed keys a service account may hold.
const maxUserKeys = 10

// keyCreate creates a user-managed key and answers its private key once,
// as a key file (privateKeyData, base64) whose token_uri is this
// simulator: the simulated token endpoint accepts grants signed with it
// until the key or the account is disabled.
func keyCreate(c *call) (any, *apiError) {
	sa, e := c.serviceAccountFor("iam.serviceAccountKeys.create")
	if e != nil {
		return nil, e
	}
	var req iamv1.CreateServiceAccountKeyRequest
	if e := c.decodeJSON(&req); e != nil {
		return nil, e
	}
	switch req.PrivateKeyType {
	case "", "TYPE_UNSPECIFIED", "TYPE_GOOGLE_CREDENTIALS_FILE":
	default:
		return nil, badRequest("iam", "Private key type %s is not served by the firedrill GCP simulator; use TYPE_GOOGLE_CREDENTIALS_FILE.", req.PrivateKeyType)
	}
	switch req.KeyAlgorithm {
	case "", "KEY_ALG_UNSPECIFIED", "KEY_ALG_RSA_2048":
	default:
		return nil, badRequest("iam", "Key algorithm %s is not served by the firedrill GCP simulator; use KEY_ALG_RSA_2048.", req.KeyAlgorithm)
	}
	n := 0
	for _, k := range sa.Keys {
		if k.Type == "USER_MANAGED" {
			n++
		}
	}
	if n >= maxUserKeys {
		return nil, &apiError{code: 400, status: "FAILED_PRECONDITION", message: "Precondition check failed.",
			reason: "KEY_LIMIT_EXCEEDED", domain: "iam.googleapis.com"}
	}
	k, err := gcpworld.Of(c.w).AddServiceAccountKey(sa.Email)
	if err != nil {
		return nil, &apiError{code: 500, status: "INTERNAL", message: err.Error()}
	}
	scheme := "http://"
	if c.req.TLS != nil {
		scheme = "https://"
	}
	file, err := keyFileJSON(sa, k, scheme+c.req.Host)
	if err != nil {
		return nil, &apiError{code: 500, status: "INTERNAL", message: err.Error()}
	}
	c.keyResource(sa, k)
	out := keyProto(sa, k)
	out.PrivateKeyType = "TYPE_GOOGLE_CREDENTIALS_FILE"
	out.PrivateKeyData = base64.StdEncoding.EncodeToString(file)
	return out, nil
}

// keyResource names a key of sa for the audit log.
func (c *call) keyResource(sa *gcpworld.ServiceAccount, k *gcpworld.ServiceAccountKey) {
	c.resource("service_account", fmt.Sprintf("projects/%s/serviceAccounts/%s/keys/%s", sa.Project, sa.Email, k.ID),
		map[string]string{"email_id": sa.Email, "unique_id": sa.UniqueID, "project_id": sa.Project})
}
