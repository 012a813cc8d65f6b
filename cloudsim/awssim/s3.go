package awssim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// s3Service serves S3 (restXml, path-style /{bucket}/{key}). Every operation
// authorizes inside its handler (Op.Public) because S3 decides on identity
// policies and the bucket policy together, and must also serve anonymous
// callers whom only a bucket policy can admit.
func s3Service() *Service {
	handlers := map[string]func(*Call) (any, error){
		"ListBuckets": s3ListBuckets, "CreateBucket": s3CreateBucket, "HeadBucket": s3HeadBucket,
		"DeleteBucket": s3DeleteBucket, "PutObject": s3PutObject, "GetObject": s3GetObject,
		"HeadObject": s3HeadObject, "DeleteObject": s3DeleteObject, "ListObjectsV2": s3ListObjectsV2,
		"ListObjects": s3ListObjects, "ListObjectVersions": s3ListObjectVersions,
		"PutBucketVersioning": s3PutBucketVersioning, "GetBucketVersioning": s3GetBucketVersioning,
		"PutObjectLockConfiguration": s3PutObjectLock, "GetObjectLockConfiguration": s3GetObjectLock,
		"PutBucketPolicy": s3PutBucketPolicy, "GetBucketPolicy": s3GetBucketPolicy,
		"DeleteBucketPolicy": s3DeleteBucketPolicy, "GetBucketPolicyStatus": s3GetBucketPolicyStatus,
		"PutPublicAccessBlock": s3PutPublicAccessBlock, "GetPublicAccessBlock": s3GetPublicAccessBlock,
		"DeletePublicAccessBlock": s3DeletePublicAccessBlock, "GetBucketLocation": s3GetBucketLocation,
		"PutBucketTagging": s3PutBucketTagging, "GetBucketTagging": s3GetBucketTagging,
		"DeleteBucketTagging":   s3DeleteBucketTagging,
		"CreateMultipartUpload": s3CreateMultipartUpload, "UploadPart": s3UploadPart,
		"CompleteMultipartUpload": s3CompleteMultipartUpload, "AbortMultipartUpload": s3AbortMultipartUpload,
		"ListParts": s3ListParts, "ListMultipartUploads": s3ListMultipartUploads, "CopyObject": s3CopyObject,
		"DeleteObjects": s3DeleteObjects, "GetBucketAcl": s3GetBucketAcl, "GetBucketLogging": s3GetBucketLogging,
		"PutBucketLogging": s3PutBucketLogging,
	}
	ops := map[string]*Op{}
	for name, h := range handlers {
		ops[name] = &Op{Public: true, Action: s3Actions[name], Handle: h}
	}
	return &Service{Name: "s3", EventSource: "s3.amazonaws.com", proto: restXML{}, Ops: ops, Route: s3Route}
}

// s3Actions maps operations to the IAM actions S3 checks (they differ from
// the operation names for several calls).
var s3Actions = map[string]string{
	"ListBuckets": "s3:ListAllMyBuckets", "CreateBucket": "s3:CreateBucket", "HeadBucket": "s3:ListBucket",
	"DeleteBucket": "s3:DeleteBucket", "PutObject": "s3:PutObject", "GetObject": "s3:GetObject",
	"HeadObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject", "ListObjectsV2": "s3:ListBucket",
	"ListObjects": "s3:ListBucket", "ListObjectVersions": "s3:ListBucketVersions",
	"PutBucketVersioning": "s3:PutBucketVersioning", "GetBucketVersioning": "s3:GetBucketVersioning",
	"PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
	"GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
	"PutBucketPolicy":            "s3:PutBucketPolicy", "GetBucketPolicy": "s3:GetBucketPolicy",
	"DeleteBucketPolicy": "s3:DeleteBucketPolicy", "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
	"PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock", "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
	"DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock", "GetBucketLocation": "s3:GetBucketLocation",
	"PutBucketTagging": "s3:PutBucketTagging", "GetBucketTagging": "s3:GetBucketTagging",
	"DeleteBucketTagging":   "s3:PutBucketTagging",
	"CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
	"AbortMultipartUpload": "s3:AbortMultipartUpload", "ListParts": "s3:ListMultipartUploadParts",
	"ListMultipartUploads": "s3:ListBucketMultipartUploads", "CopyObject": "s3:PutObject",
	"DeleteObjects": "s3:DeleteObject", "GetBucketAcl": "s3:GetBucketAcl", "GetBucketLogging": "s3:GetBucketLogging",
	"PutBucketLogging": "s3:PutBucketLogging",
}

// s3Params are query keys that are parameters, not subresources.
var s3Params = map[string]bool{
	"list-type": true, "prefix": true, "delimiter": true, "max-keys": true, "continuation-token": true,
	"start-after": true, "fetch-owner": true, "encoding-type": true, "marker": true, "versionId": true,
	"key-marker": true, "version-id-marker": true, "x-id": true, "max-buckets": true, "bucket-region": true,
	"partNumber": true,
}

// s3Subresources name the bucket subresources served; any other subresource
// is routed to an operation name that is not served, so the client gets
// NotImplemented instead of a listing that looks like success.
var s3Subresources = map[string]map[string]string{
	"versions":          {"GET": "ListObjectVersions"},
	"versioning":        {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
	"object-lock":       {"GET": "GetObjectLockConfiguration", "PUT": "PutObjectLockConfiguration"},
	"policy":            {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
	"policyStatus":      {"GET": "GetBucketPolicyStatus"},
	"publicAccessBlock": {"GET": "GetPublicAccessBlock", "PUT": "PutPublicAccessBlock", "DELETE": "DeletePublicAccessBlock"},
	"location":          {"GET": "GetBucketLocation"},
	"tagging":           {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "DeleteBucketTagging"},
	"delete":            {"POST": "DeleteObjects"},
	"acl":               {"GET": "GetBucketAcl"},
	"logging":           {"GET": "GetBucketLogging", "PUT": "PutBucketLogging"},
	"uploads":           {"GET": "ListMultipartUploads"},
}

// s3ObjectSubresources name the object subresources served.
var s3ObjectSubresources = map[string]map[string]string{
	"uploads":  {"POST": "CreateMultipartUpload"},
	"uploadId": {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"},
}

var verbs = map[string]string{"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}

// s3Route names the operation of a path-style request.
func s3Route(r *http.Request) (string, map[string]string) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	vars := map[string]string{"Bucket": bucket, "Key": key}
	q := r.URL.Query()
	var subs []string
	for k := range q {
		if !s3Params[k] && !strings.HasPrefix(k, "X-Amz-") && !strings.HasPrefix(k, "response-") {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	verb := verbs[r.Method]
	if verb == "" {
		verb = r.Method
	}
	if bucket == "" {
		if r.Method == http.MethodGet && len(subs) == 0 {
			return "ListBuckets", vars
		}
		return verb + "Service" + strings.Join(subs, ""), vars
	}
	if key == "" {
		if len(subs) == 0 {
			switch r.Method {
			case http.MethodGet:
				if q.Get("list-type") == "2" {
					return "ListObjectsV2", vars
				}
				return "ListObjects", vars
			case http.MethodPut:
				return "CreateBucket", vars
			case http.MethodHead:
				return "HeadBucket", vars
			case http.MethodDelete:
				return "DeleteBucket", vars
			}
			return verb + "Bucket", vars
		}
		if len(subs) == 1 {
			if op, ok := s3Subresources[subs[0]][r.Method]; ok {
				return op, vars
			}
		}
		return verb + "Bucket" + titleJoin(subs), vars
	}
	if len(subs) == 0 {
		switch r.Method {
		case http.MethodGet:
			return "GetObject", vars
		case http.MethodHead:
			return "HeadObject", vars
		case http.MethodDelete:
			return "DeleteObject", vars
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return "CopyObject", vars
			}
			return "PutObject", vars
		}
	}
	if len(subs) == 1 {
		if op, ok := s3ObjectSubresources[subs[0]][r.Method]; ok {
			return op, vars
		}
	}
	return verb + "Object" + titleJoin(subs), vars
}

func titleJoin(subs []string) string {
	var b strings.Builder
	for _, s := range subs {
		if s != "" {
			b.WriteString(strings.ToUpper(s[:1]) + s[1:])
		}
	}
	return b.String()
}

// ---- authorization ------------------------------------------------------------

// s3Authorize decides a call as S3 does. An explicit deny in the caller's
// identity policies or in the bucket policy wins (so a bucket-policy deny
// stops even an administrator). Otherwise, within the bucket owner's account
// an allow from either suffices; across accounts both must allow; an
// anonymous caller needs the bucket policy to allow it.
func s3Authorize(c *Call, b *world.Bucket, resource string) error {
	action := s3Actions[c.Op]
	if c.Op == "GetObject" || c.Op == "HeadObject" {
		if c.Form.Get("versionId") != "" {
			action = "s3:GetObjectVersion"
		}
	}
	if c.Op == "DeleteObject" && c.Form.Get("versionId") != "" {
		action = "s3:DeleteObjectVersion"
	}
	return s3AuthorizeAction(c, b, action, resource)
}

func s3AuthorizeAction(c *Call, b *world.Bucket, action, resource string) error {
	ctx := awsworld.Of(c.World).RequestContext(c.Caller, c.SourceIP)
	ctx.Set("aws:SecureTransport", strconv.FormatBool(c.Req.TLS != nil))
	req := world.Request{Action: action, Context: ctx}
	if resource != "" {
		req.Resources = []string{resource}
	}
	anonymous := c.Caller.Kind == "anonymous"
	ident := world.ImplicitDeny
	if !anonymous {
		d, err := awsworld.Of(c.World).Authorize(c.Caller, req)
		if err != nil {
			return fmt.Errorf("evaluating identity policies: %w", err)
		}
		ident = d
	}
	res := world.ImplicitDeny
	if b != nil {
		d, err := awsworld.Of(c.World).BucketPolicyDecision(b, c.Caller, req)
		if err != nil {
			return fmt.Errorf("evaluating bucket policy: %w", err)
		}
		res = d
	}
	if resource == "" {
		resource = "*"
	}
	deny := func(why string) error {
		msg := "Access Denied"
		if !anonymous {
			msg = fmt.Sprintf("User: %s is not authorized to perform: %s on resource: \"%s\" %s", c.Caller.ARN, action, resource, why)
		}
		return &APIError{Status: 403, Code: "AccessDenied", Message: msg, Sender: true}
	}
	switch {
	case ident == world.ExplicitDeny:
		return deny("with an explicit deny in an identity-based policy")
	case res == world.ExplicitDeny:
		return deny("with an explicit deny in a resource-based policy")
	case anonymous:
		if res == world.Allowed {
			return nil
		}
	case b == nil || b.Account == c.Caller.Account:
		if ident == world.Allowed || res == world.Allowed {
			return nil
		}
	default:
		if ident == world.Allowed && res == world.Allowed {
			return nil
		}
	}
	return deny("because no identity-based policy allows the " + action + " action")
}

// s3BucketFor authorizes a bucket (or object, when key is set) call and
// returns the bucket. A missing bucket is NoSuchBucket once authorized.
func s3BucketFor(c *Call, key string) (*world.Bucket, error) {
	name := c.PathVars["Bucket"]
	b := c.World.Buckets.Lookup(name)
	if b != nil && c.Hidden(b.Created) {
		b = nil // eventual-consistency fault: the new bucket is not yet visible
	}
	resource := "arn:aws:s3:::" + name
	if key != "" {
		resource += "/" + key
	}
	if err := s3Authorize(c, b, resource); err != nil {
		return nil, err
	}
	c.Param("bucketName", name)
	c.Touch("AWS::S3::Bucket", name)
	if key != "" {
		c.Param("key", key)
		c.Touch("AWS::S3::Object", resource)
	}
	if b == nil {
		return nil, Errf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	deliverLogsLocked(c.World, b, c.Now)
	return b, nil
}

// s3Err maps world storage errors to S3's codes.
func s3Err(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range []struct {
		kind   error
		status int
		msg    string
	}{
		{world.ErrNoSuchBucket, 404, "The specified bucket does not exist"},
		{world.ErrBucketOwnedByYou, 409, "Your previous request to create the named bucket succeeded and you already own it."},
		{world.ErrBucketExists, 409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
		{world.ErrBucketNotEmpty, 409, "The bucket you tried to delete is not empty"},
		{world.ErrNoSuchKey, 404, "The specified key does not exist."},
		{world.ErrNoSuchVersion, 404, "The specified version does not exist."},
		{world.ErrVersionIsMarker, 405, "The specified method is not allowed against this resource."},
		{world.ErrInvalidBucketName, 400, "The specified bucket is not valid."},
	} {
		if errors.Is(err, m.kind) {
			return Errf(m.status, m.kind.Error(), "%s", m.msg)
		}
	}
	return fmt.Errorf("s3: %w", err)
}

// s3XMLBody decodes a configuration document from the (possibly
// aws-chunked) request body; MalformedXML when it does not parse.
func s3XMLBody(c *Call, v any) error {
	data, _, err := s3Payload(c)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	return nil
}

// ownerID is the account's canonical user id, derived deterministically.
func ownerID(account string) string {
	sum := sha256.Sum256([]byte("firedrill-canonical:" + account))
	return hex.EncodeToString(sum[:])
}

func noContent(h http.Header) *RawResponse { return &RawResponse{Status: 204, Header: h} }

// ---- buckets ----------------------------------------------------------------

func s3ListBuckets(c *Call) (any, error) {
	if err := s3Authorize(c, nil, ""); err != nil {
		return nil, err
	}
	maxB, err := c.Form.Int("max-buckets", 10000)
	if err != nil || maxB < 1 || maxB > 10000 {
		return nil, Errf(400, "InvalidArgument", "max-buckets must be between 1 and 10000")
	}
	prefix := c.Form.Get("prefix")
	var names []string
	for _, n := range c.World.Buckets.Keys() {
		b := c.World.Buckets.Lookup(n)
		if b.Account == c.Caller.Account && strings.HasPrefix(n, prefix) && !c.Hidden(b.Created) {
			names = append(names, n)
		}
	}
	start := 0
	if tok := c.Form.Get("continuation-token"); tok != "" {
		after, err := decodeToken(tok)
		if err != nil {
			return nil, err
		}
		start = sort.SearchStrings(names, after)
		if start < len(names) && names[start] == after {
			start++
		}
	}
	end := min(start+maxB, len(names))
	var items []*X
	for _, n := range names[start:end] {
		b := c.World.Buckets.Lookup(n)
		items = append(items, E("Bucket", T("Name", n), T("CreationDate", b.Created), T("BucketRegion", b.Region)))
	}
	var next *X
	if end < len(names) {
		next = T("ContinuationToken", encodeToken(names[end-1]))
	}
	return E("ListAllMyBucketsResult",
		E("Owner", T("DisplayName", c.Caller.Name), T("ID", ownerID(c.Caller.Account))),
		L("Buckets", items), next, TO("Prefix", prefix)), nil
}

func encodeToken(after string) string {
	return base64.StdEncoding.EncodeToString([]byte("fd1:" + after))
}

func decodeToken(tok string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(raw), "fd1:") {
		return "", Errf(400, "InvalidArgument", "The continuation token provided is incorrect")
	}
	return strings.TrimPrefix(string(raw), "fd1:"), nil
}

func s3CreateBucket(c *Call) (any, error) {
	name := c.PathVars["Bucket"]
	if err := s3AuthorizeAction(c, nil, "s3:CreateBucket", "arn:aws:s3:::"+name); err != nil {
		return nil, err
	}
	c.Param("bucketName", name)
	c.Touch("AWS::S3::Bucket", name)
	var cfg struct{ LocationConstraint string }
	data, _, err := s3Payload(c)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := xml.Unmarshal(data, &cfg); err != nil {
			return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
	region := cfg.LocationConstraint
	switch {
	case region == "":
		region = "us-east-1"
	case region == "us-east-1" && c.Region == "us-east-1":
		return nil, Errf(400, "InvalidLocationConstraint", "The specified location-constraint is not valid")
	case c.Region != "us-east-1" && region != c.Region:
		return nil, Errf(400, "IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	lock := strings.EqualFold(c.Req.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true")
	if _, err := c.World.CreateBucketLocked(c.Caller.Account, region, name, lock); err != nil {
		return nil, s3Err(err)
	}
	return &RawResponse{Header: http.Header{"Location": {"/" + name}}}, nil
}

func s3HeadBucket(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	return &RawResponse{Header: http.Header{"X-Amz-Bucket-Region": {b.Region}, "X-Amz-Access-Point-Alias": {"false"}}}, nil
}

func s3DeleteBucket(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if err := c.World.DeleteBucketLocked(b.Name); err != nil {
		return nil, s3Err(err)
	}
	return noContent(nil), nil
}

func s3GetBucketLocation(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // S3 reports the classic region as an empty constraint
	}
	var body strings.Builder
	body.WriteString(xml.Header + `<LocationConstraint xmlns="` + s3NS + `">`)
	_ = xml.EscapeText(&body, []byte(loc))
	body.WriteString("</LocationConstraint>")
	return &RawResponse{Header: http.Header{"Content-Type": {"application/xml"}}, Body: []byte(body.String())}, nil
}

// ---- versioning and object lock ------------------------------------------------

func s3PutBucketVersioning(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var cfg struct{ Status, MfaDelete string }
	if err := s3XMLBody(c, &cfg); err != nil {
		return nil, err
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if b.ObjectLock && cfg.Status != "Enabled" {
		return nil, Errf(409, "InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	}
	c.Param("status", cfg.Status)
	b.Versioning = cfg.Status
	return nil, nil
}

func s3GetBucketVersioning(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	return E("VersioningConfiguration", TO("Status", b.Versioning)), nil
}

type lockConfig struct {
	ObjectLockEnabled string
	Rule              *struct {
		DefaultRetention struct {
			Mode  string
			Days  int
			Years int
		}
	}
}

func s3PutObjectLock(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if !b.ObjectLock {
		return nil, Errf(409, "InvalidBucketState", "Object Lock configuration cannot be enabled on existing buckets")
	}
	var cfg lockConfig
	if err := s3XMLBody(c, &cfg); err != nil {
		return nil, err
	}
	if cfg.ObjectLockEnabled != "Enabled" {
		return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	rule := ""
	if cfg.Rule != nil {
		r := cfg.Rule.DefaultRetention
		if r.Mode != "GOVERNANCE" && r.Mode != "COMPLIANCE" {
			return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if (r.Days > 0) == (r.Years > 0) || r.Days < 0 || r.Years < 0 {
			return nil, Errf(400, "InvalidArgument", "Default retention period must specify either a positive number of Days or of Years")
		}
		var period *X
		if r.Days > 0 {
			period = T("Days", r.Days)
		} else {
			period = T("Years", r.Years)
		}
		rule = renderXML(E("Rule", E("DefaultRetention", T("Mode", r.Mode), period)))
		c.Param("retentionMode", r.Mode)
	}
	b.ObjectLockConfig = rule
	return nil, nil
}

// renderXML serialises a fragment without the XML declaration.
func renderXML(x *X) string {
	doc := string(document(x.Name, "", x.Kids...))
	return strings.TrimPrefix(doc, xml.Header)
}

func s3GetObjectLock(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if !b.ObjectLock {
		return nil, Errf(404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
	}
	var rule *X
	if r, ok := b.DefaultRetention(); ok {
		period := T("Days", r.Days)
		if r.Years > 0 {
			period = T("Years", r.Years)
		}
		rule = E("Rule", E("DefaultRetention", T("Mode", r.Mode), period))
	}
	return E("ObjectLockConfiguration", T("ObjectLockEnabled", "Enabled"), rule), nil
}

// ---- bucket policy and public access block ---------------------------------------

// validateBucketPolicy applies S3's checks: valid JSON, a Principal in each
// statement, S3 actions only, resources inside this bucket.
func validateBucketPolicy(bucket, doc string) error {
	malformed := func(msg string) error { return Errf(400, "MalformedPolicy", "%s", msg) }
	p, err := world.ParsePolicy(doc)
	if err != nil {
		return malformed("Policies must be valid JSON and the first byte must be '{'")
	}
	for _, st := range p.Statement {
		if len(st.Principal) == 0 {
			return malformed("Missing required field Principal")
		}
		for _, a := range append(append([]string(nil), st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return malformed("Policy has invalid action")
			}
		}
		if len(st.Resource) == 0 {
			return malformed("Missing required field Resource")
		}
		for _, r := range st.Resource {
			arn := "arn:aws:s3:::" + bucket
			if r != arn && !strings.HasPrefix(r, arn+"/") && r != arn+"*" {
				return malformed("Policy has invalid resource")
			}
		}
	}
	return nil
}

func s3PutBucketPolicy(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	data, _, err := s3Payload(c)
	if err != nil {
		return nil, err
	}
	doc := string(data)
	if err := validateBucketPolicy(b.Name, doc); err != nil {
		return nil, err
	}
	if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicPolicy && awsworld.PolicyIsPublic(doc) {
		return nil, Errf(403, "AccessDenied", "User: %s is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::%s\" because public policies are blocked by the BlockPublicPolicy block public access setting.", c.Caller.ARN, b.Name)
	}
	c.Param("bucketPolicy", doc)
	b.Policy = doc
	return noContent(nil), nil
}

func s3GetBucketPolicy(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, Errf(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
	}
	return &RawResponse{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(b.Policy)}, nil
}

func s3DeleteBucketPolicy(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	b.Policy = ""
	return noContent(nil), nil
}

func s3GetBucketPolicyStatus(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, Errf(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
	}
	return E("PolicyStatus", T("IsPublic", awsworld.PolicyIsPublic(b.Policy))), nil
}

func s3PutPublicAccessBlock(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var cfg world.PublicAccessBlock
	if err := s3XMLBody(c, &cfg); err != nil {
		return nil, err
	}
	c.Param("publicAccessBlock", fmt.Sprintf("BlockPublicAcls=%t IgnorePublicAcls=%t BlockPublicPolicy=%t RestrictPublicBuckets=%t",
		cfg.BlockPublicAcls, cfg.IgnorePublicAcls, cfg.BlockPublicPolicy, cfg.RestrictPublicBuckets))
	b.PublicAccessBlock = &cfg
	return nil, nil
}

func s3GetPublicAccessBlock(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	p := b.PublicAccessBlock
	if p == nil {
		return nil, Errf(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return E("PublicAccessBlockConfiguration", T("BlockPublicAcls", p.BlockPublicAcls), T("IgnorePublicAcls", p.IgnorePublicAcls),
		T("BlockPublicPolicy", p.BlockPublicPolicy), T("RestrictPublicBuckets", p.RestrictPublicBuckets)), nil
}

func s3DeletePublicAccessBlock(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	b.PublicAccessBlock = nil
	return noContent(nil), nil
}

// ---- tagging ---------------------------------------------------------------------

func s3PutBucketTagging(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var cfg struct {
		TagSet struct {
			Tag []struct{ Key, Value string }
		}
	}
	if err := s3XMLBody(c, &cfg); err != nil {
		return nil, err
	}
	tags := world.Tags{}
	for _, t := range cfg.TagSet.Tag {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, Errf(400, "InvalidTag", "The TagKey you have provided is invalid")
		}
		if _, dup := tags[t.Key]; dup {
			return nil, Errf(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		tags[t.Key] = t.Value
	}
	if len(tags) > 50 {
		return nil, Errf(400, "InvalidTag", "Object tags cannot be greater than 50")
	}
	b.Tags = tags
	return noContent(nil), nil
}

func s3GetBucketTagging(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	if len(b.Tags) == 0 {
		return nil, Errf(404, "NoSuchTagSet", "The TagSet does not exist")
	}
	var items []*X
	for _, k := range world.SortedKeys(b.Tags) {
		items = append(items, E("Tag", T("Key", k), T("Value", b.Tags[k])))
	}
	return E("Tagging", L("TagSet", items)), nil
}

func s3DeleteBucketTagging(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	b.Tags = world.Tags{}
	return noContent(nil), nil
}

// ---- objects -----------------------------------------------------------------------

// s3ObjectToWrite authorizes a write of the request's object and checks
// its key.
func s3ObjectToWrite(c *Call) (*world.Bucket, string, error) {
	key := c.PathVars["Key"]
	b, err := s3BucketFor(c, key)
	if err != nil {
		return nil, "", err
	}
	if len(key) > 1024 {
		return nil, "", Errf(400, "KeyTooLongError", "Your key is too long")
	}
	return b, key, nil
}

func s3PutObject(c *Call) (any, error) {
	b, key, err := s3ObjectToWrite(c)
	if err != nil {
		return nil, err
	}
	data, sums, err := s3Payload(c)
	if err != nil {
		return nil, err
	}
	v, err := c.World.PutObjectLocked(b.Name, key, data, s3ContentType(c.Req.Header), s3UserMetadata(c.Req.Header))
	if err != nil {
		return nil, s3Err(err)
	}
	h := http.Header{"Etag": {v.ETag}, "X-Amz-Server-Side-Encryption": {"AES256"}}
	if b.Versioning != "" {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	for alg, sum := range sums {
		h.Set("X-Amz-Checksum-"+alg, sum)
	}
	c.Param("bytesTransferredIn", strconv.Itoa(len(data)))
	return &RawResponse{Header: h}, nil
}

// objectHeaders are the metadata headers of GetObject and HeadObject.
func objectHeaders(b *world.Bucket, v *world.ObjectVersion, now time.Time) http.Header {
	h := http.Header{
		"Content-Type":                 {v.ContentType},
		"Content-Length":               {strconv.Itoa(len(v.Data))},
		"Etag":                         {v.ETag},
		"Last-Modified":                {v.LastModified.UTC().Format(http.TimeFormat)},
		"Accept-Ranges":                {"bytes"},
		"X-Amz-Server-Side-Encryption": {"AES256"},
	}
	if b.Versioning != "" {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	for _, k := range world.SortedKeys(v.Metadata) {
		// As written (lowercase), not canonicalised: S3 answers
		// x-amz-meta-case-id, which clients return as the key "case-id".
		h["x-amz-meta-"+k] = []string{v.Metadata[k]}
	}
	if mode, until, locked := b.RetainedUntil(v, now); locked {
		h.Set("X-Amz-Object-Lock-Mode", mode)
		h.Set("X-Amz-Object-Lock-Retain-Until-Date", until.UTC().Format(time.RFC3339))
	}
	return h
}

func s3ReadObject(c *Call) (*world.Bucket, *world.ObjectVersion, error) {
	key := c.PathVars["Key"]
	b, err := s3BucketFor(c, key)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.World.GetObjectLocked(b.Name, key, c.Form.Get("versionId"))
	if err != nil {
		return nil, nil, s3Err(err)
	}
	return b, v, nil
}

func s3GetObject(c *Call) (any, error) {
	b, v, err := s3ReadObject(c)
	if err != nil {
		return nil, err
	}
	h := objectHeaders(b, v, c.Now)
	rng := c.Req.Header.Get("Range")
	if rng == "" {
		c.Param("bytesTransferredOut", strconv.Itoa(len(v.Data)))
		return &RawResponse{Header: h, Body: v.Data}, nil
	}
	start, end, ok := parseRange(rng, len(v.Data))
	if !ok {
		return nil, Errf(416, "InvalidRange", "The requested range is not satisfiable")
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(v.Data)))
	h.Set("Content-Length", strconv.Itoa(end-start+1))
	c.Param("bytesTransferredOut", strconv.Itoa(end-start+1))
	return &RawResponse{Status: 206, Header: h, Body: v.Data[start : end+1]}, nil
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
func parseRange(h string, size int) (start, end int, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") || size == 0 {
		return 0, 0, false
	}
	a, z, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.Atoi(z)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	s, err := strconv.Atoi(a)
	if err != nil || s < 0 || s >= size {
		return 0, 0, false
	}
	e := size - 1
	if z != "" {
		n, err := strconv.Atoi(z)
		if err != nil || n < s {
			return 0, 0, false
		}
		e = min(n, size-1)
	}
	return s, e, true
}

func s3HeadObject(c *Call) (any, error) {
	b, v, err := s3ReadObject(c)
	if err != nil {
		return nil, err
	}
	return &RawResponse{Header: objectHeaders(b, v, c.Now)}, nil
}

func s3DeleteObject(c *Call) (any, error) {
	key := c.PathVars["Key"]
	b, err := s3BucketFor(c, key)
	if err != nil {
		return nil, err
	}
	versionID := c.Form.Get("versionId")
	if versionID != "" {
		if v, err := c.World.GetObjectLocked(b.Name, key, versionID); err == nil {
			if err := s3CheckRetention(c, b, v); err != nil {
				return nil, err
			}
		}
	}
	v, err := c.World.DeleteObjectLocked(b.Name, key, versionID)
	if err != nil {
		return nil, s3Err(err)
	}
	h := http.Header{}
	if v != nil && b.Versioning != "" {
		h.Set("X-Amz-Version-Id", v.VersionID)
		if v.DeleteMarker {
			h.Set("X-Amz-Delete-Marker", "true")
		}
	}
	return noContent(h), nil
}

// s3CheckRetention refuses to delete a version under Object Lock retention.
// GOVERNANCE can be bypassed by a caller allowed s3:BypassGovernanceRetention
// who sends x-amz-bypass-governance-retention; COMPLIANCE cannot.
func s3CheckRetention(c *Call, b *world.Bucket, v *world.ObjectVersion) error {
	mode, _, locked := b.RetainedUntil(v, c.Now)
	if !locked {
		return nil
	}
	if mode == "GOVERNANCE" && strings.EqualFold(c.Req.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		if err := s3AuthorizeAction(c, b, "s3:BypassGovernanceRetention", "arn:aws:s3:::"+b.Name+"/"+v.Key); err == nil {
			return nil
		}
	}
	return Errf(403, "AccessDenied", "Access Denied because object protected by object lock.")
}

// ---- listings ----------------------------------------------------------------------

// listEntry is a key or a common prefix of a listing, in key order.
type listEntry struct {
	obj    *world.ObjectVersion
	prefix string
}

func (e listEntry) name() string {
	if e.obj != nil {
		return e.obj.Key
	}
	return e.prefix
}

// listKeys groups keys under prefix by delimiter, starting after 'after', and
// cuts at maxKeys entries (keys and common prefixes both count, as in S3).
func listKeys(objs []*world.ObjectVersion, prefix, delimiter, after string, maxKeys int) (page []listEntry, truncated bool) {
	var last string
	for _, o := range objs {
		e := listEntry{obj: o}
		if delimiter != "" {
			if i := strings.Index(o.Key[len(prefix):], delimiter); i >= 0 {
				e = listEntry{prefix: o.Key[:len(prefix)+i+len(delimiter)]}
			}
		}
		n := e.name()
		if n <= after || (e.obj == nil && n == last) {
			continue
		}
		if len(page) == maxKeys {
			return page, true
		}
		page = append(page, e)
		last = n
	}
	return page, false
}

// s3Encode applies encoding-type=url to a key or prefix.
func s3Encode(c *Call, s string) string {
	if c.Form.Get("encoding-type") == "url" {
		return strings.ReplaceAll(url.PathEscape(s), "%2F", "/")
	}
	return s
}

func s3MaxKeys(c *Call) (int, error) {
	n, err := c.Form.Int("max-keys", 1000)
	if err != nil || n < 0 {
		return 0, Errf(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
	}
	return min(n, 1000), nil
}

func listingX(c *Call, page []listEntry, withOwner bool, account string) (contents, prefixes []*X) {
	for _, e := range page {
		if e.obj == nil {
			prefixes = append(prefixes, E("CommonPrefixes", T("Prefix", s3Encode(c, e.prefix))))
			continue
		}
		var owner *X
		if withOwner {
			owner = E("Owner", T("ID", ownerID(account)))
		}
		contents = append(contents, E("Contents", T("Key", s3Encode(c, e.obj.Key)), T("LastModified", e.obj.LastModified),
			T("ETag", e.obj.ETag), T("Size", len(e.obj.Data)), T("StorageClass", "STANDARD"), owner))
	}
	return contents, prefixes
}

func s3ListObjectsV2(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	maxKeys, err := s3MaxKeys(c)
	if err != nil {
		return nil, err
	}
	prefix, delim := c.Form.Get("prefix"), c.Form.Get("delimiter")
	after := c.Form.Get("start-after")
	tok := c.Form.Get("continuation-token")
	if tok != "" {
		if after, err = decodeToken(tok); err != nil {
			return nil, err
		}
	}
	objs, err := c.World.CurrentObjectsLocked(b.Name, prefix)
	if err != nil {
		return nil, s3Err(err)
	}
	page, truncated := listKeys(objs, prefix, delim, after, maxKeys)
	var next *X
	if truncated {
		next = T("NextContinuationToken", encodeToken(page[len(page)-1].name()))
	}
	owner, _ := c.Form.Bool("fetch-owner")
	contents, prefixes := listingX(c, page, owner, b.Account)
	kids := []*X{T("Name", b.Name), T("Prefix", s3Encode(c, prefix)), TO("Delimiter", s3Encode(c, delim)),
		T("MaxKeys", maxKeys), TO("EncodingType", c.Form.Get("encoding-type")), T("KeyCount", len(page)),
		T("IsTruncated", truncated), TO("ContinuationToken", tok), next, TO("StartAfter", s3Encode(c, c.Form.Get("start-after")))}
	kids = append(append(kids, contents...), prefixes...)
	return E("ListBucketResult", kids...), nil
}

func s3ListObjects(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	maxKeys, err := s3MaxKeys(c)
	if err != nil {
		return nil, err
	}
	prefix, delim, marker := c.Form.Get("prefix"), c.Form.Get("delimiter"), c.Form.Get("marker")
	objs, err := c.World.CurrentObjectsLocked(b.Name, prefix)
	if err != nil {
		return nil, s3Err(err)
	}
	page, truncated := listKeys(objs, prefix, delim, marker, maxKeys)
	var next *X
	if truncated {
		next = T("NextMarker", s3Encode(c, page[len(page)-1].name()))
	}
	contents, prefixes := listingX(c, page, true, b.Account)
	kids := []*X{T("Name", b.Name), T("Prefix", s3Encode(c, prefix)), T("Marker", s3Encode(c, marker)),
		T("MaxKeys", maxKeys), TO("Delimiter", s3Encode(c, delim)), TO("EncodingType", c.Form.Get("encoding-type")),
		T("IsTruncated", truncated), next}
	kids = append(append(kids, contents...), prefixes...)
	return E("ListBucketResult", kids...), nil
}

func s3ListObjectVersions(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	maxKeys, err := s3MaxKeys(c)
	if err != nil {
		return nil, err
	}
	prefix, keyMarker, vidMarker := c.Form.Get("prefix"), c.Form.Get("key-marker"), c.Form.Get("version-id-marker")
	all, err := c.World.AllVersionsLocked(b.Name, prefix)
	if err != nil {
		return nil, s3Err(err)
	}
	start := 0
	if keyMarker != "" {
		start = len(all)
		for i, v := range all {
			if v.Key > keyMarker {
				start = i
				break
			}
			if v.Key == keyMarker && vidMarker != "" && v.VersionID == vidMarker {
				start = i + 1
				break
			}
		}
	}
	end := min(start+maxKeys, len(all))
	kids := []*X{T("Name", b.Name), T("Prefix", prefix), T("KeyMarker", keyMarker), T("VersionIdMarker", vidMarker),
		T("MaxKeys", maxKeys), T("IsTruncated", end < len(all))}
	if end < len(all) && end > start {
		last := all[end-1]
		kids = append(kids, T("NextKeyMarker", last.Key), T("NextVersionIdMarker", last.VersionID))
	}
	for _, v := range all[start:end] {
		if v.DeleteMarker {
			kids = append(kids, E("DeleteMarker", T("Key", v.Key), T("VersionId", v.VersionID),
				T("IsLatest", b.IsLatest(v)), T("LastModified", v.LastModified), E("Owner", T("ID", ownerID(b.Account)))))
			continue
		}
		kids = append(kids, E("Version", T("Key", v.Key), T("VersionId", v.VersionID), T("IsLatest", b.IsLatest(v)),
			T("LastModified", v.LastModified), T("ETag", v.ETag), T("Size", len(v.Data)), T("StorageClass", "STANDARD"),
			E("Owner", T("ID", ownerID(b.Account)))))
	}
	return E("ListVersionsResult", kids...), nil
}
