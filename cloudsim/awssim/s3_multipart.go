package awssim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
)

// Multipart upload, server-side copy, batch delete, bucket ACL and access
// logging. Each authorizes like the rest of S3 (identity and bucket policy
// together, in the handler), with the IAM action S3 checks for it.

// s3MinPartSize is the smallest part S3 accepts but for the last one.
const s3MinPartSize = 5 << 20

// s3UserMetadata reads the x-amz-meta-* headers, keys lowercased as S3
// stores them.
func s3UserMetadata(h http.Header) map[string]string {
	meta := map[string]string{}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(vs) > 0 {
			meta[name] = vs[0]
		}
	}
	return meta
}

func s3ContentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "binary/octet-stream"
}

func s3NoSuchUpload() error {
	return Errf(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

// s3Upload authorizes a call on an upload's object and returns the upload.
func s3Upload(c *Call) (*world.Bucket, *awsworld.MultipartUpload, error) {
	key := c.PathVars["Key"]
	b, err := s3BucketFor(c, key)
	if err != nil {
		return nil, nil, err
	}
	u, ok := awsworld.Of(c.World).Uploads.Get(c.Form.Get("uploadId"))
	if !ok || u.Bucket != b.Name || u.Key != key {
		return nil, nil, s3NoSuchUpload()
	}
	return b, u, nil
}

func s3CreateMultipartUpload(c *Call) (any, error) {
	b, key, err := s3ObjectToWrite(c)
	if err != nil {
		return nil, err
	}
	u := awsworld.Of(c.World).CreateUpload(b.Name, key, s3ContentType(c.Req.Header), s3UserMetadata(c.Req.Header), c.Caller.ARN)
	c.Param("uploadId", u.ID)
	return E("InitiateMultipartUploadResult", T("Bucket", b.Name), T("Key", key), T("UploadId", u.ID)), nil
}

func s3UploadPart(c *Call) (any, error) {
	_, u, err := s3Upload(c)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(c.Form.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return nil, Errf(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	data, sums, err := s3Payload(c)
	if err != nil {
		return nil, err
	}
	p := &awsworld.UploadedPart{Number: n, ETag: world.ETagOf(data), Data: data, LastModified: c.Now}
	u.Parts[n] = p
	h := http.Header{"Etag": {p.ETag}, "X-Amz-Server-Side-Encryption": {"AES256"}}
	for alg, sum := range sums {
		h.Set("X-Amz-Checksum-"+alg, sum)
	}
	c.Param("partNumber", strconv.Itoa(n))
	c.Param("bytesTransferredIn", strconv.Itoa(len(data)))
	return &RawResponse{Header: h}, nil
}

type completeUpload struct {
	Parts []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

// s3CompleteMultipartUpload joins the parts named, in order, into the
// object; its ETag is S3's multipart form, the MD5 of the parts' MD5s and
// the part count: "<hex>-N".
func s3CompleteMultipartUpload(c *Call) (any, error) {
	b, u, err := s3Upload(c)
	if err != nil {
		return nil, err
	}
	var req completeUpload
	if err := s3XMLBody(c, &req); err != nil {
		return nil, err
	}
	if len(req.Parts) == 0 {
		return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	var data []byte
	sums := md5.New()
	for i, rp := range req.Parts {
		if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
			return nil, Errf(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		p := u.Parts[rp.PartNumber]
		if p == nil || strings.Trim(rp.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			return nil, Errf(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.")
		}
		if i < len(req.Parts)-1 && len(p.Data) < s3MinPartSize {
			return nil, Errf(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
		}
		raw, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		sums.Write(raw)
		data = append(data, p.Data...)
	}
	v, err := c.World.PutObjectLocked(b.Name, u.Key, data, u.ContentType, u.Metadata)
	if err != nil {
		return nil, s3Err(err)
	}
	v.ETag = `"` + hex.EncodeToString(sums.Sum(nil)) + "-" + strconv.Itoa(len(req.Parts)) + `"`
	awsworld.Of(c.World).Uploads.Delete(u.ID)
	c.Param("uploadId", u.ID)
	c.Param("bytesTransferredIn", strconv.Itoa(len(data)))
	h := http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}, "Content-Type": {"application/xml"}}
	if b.Versioning != "" {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	body := document("CompleteMultipartUploadResult", s3NS,
		T("Location", "/"+b.Name+"/"+u.Key), T("Bucket", b.Name), T("Key", u.Key), T("ETag", v.ETag))
	return &RawResponse{Header: h, Body: body}, nil
}

func s3AbortMultipartUpload(c *Call) (any, error) {
	_, u, err := s3Upload(c)
	if err != nil {
		return nil, err
	}
	awsworld.Of(c.World).Uploads.Delete(u.ID)
	c.Param("uploadId", u.ID)
	return noContent(nil), nil
}

func s3Owner(name string, account string) *X {
	return E(name, T("ID", ownerID(account)), T("DisplayName", account))
}

func s3ListParts(c *Call) (any, error) {
	b, u, err := s3Upload(c)
	if err != nil {
		return nil, err
	}
	var parts []*X
	for _, n := range u.PartNumbers() {
		p := u.Parts[n]
		parts = append(parts, E("Part", T("PartNumber", n), T("LastModified", p.LastModified), T("ETag", p.ETag), T("Size", len(p.Data))))
	}
	next := 0
	if nums := u.PartNumbers(); len(nums) > 0 {
		next = nums[len(nums)-1]
	}
	kids := []*X{T("Bucket", b.Name), T("Key", u.Key), T("UploadId", u.ID),
		E("Initiator", T("ID", u.Initiator), T("DisplayName", u.Initiator)), s3Owner("Owner", b.Account),
		T("StorageClass", "STANDARD"), T("PartNumberMarker", 0), T("NextPartNumberMarker", next),
		T("MaxParts", 1000), T("IsTruncated", false)}
	return E("ListPartsResult", append(kids, parts...)...), nil
}

func s3ListMultipartUploads(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var ups []*X
	for _, id := range awsworld.Of(c.World).Uploads.Keys() {
		u := awsworld.Of(c.World).Uploads.Lookup(id)
		if u.Bucket != b.Name || !strings.HasPrefix(u.Key, c.Form.Get("prefix")) {
			continue
		}
		ups = append(ups, E("Upload", T("Key", u.Key), T("UploadId", u.ID),
			E("Initiator", T("ID", u.Initiator), T("DisplayName", u.Initiator)), s3Owner("Owner", b.Account),
			T("StorageClass", "STANDARD"), T("Initiated", u.Initiated)))
	}
	kids := []*X{T("Bucket", b.Name), T("KeyMarker", ""), T("UploadIdMarker", ""), T("MaxUploads", 1000), T("IsTruncated", false)}
	return E("ListMultipartUploadsResult", append(kids, ups...)...), nil
}

// ---- CopyObject ------------------------------------------------------------

// s3CopyObject copies an object within S3. The caller needs s3:PutObject on
// the destination and s3:GetObject (s3:GetObjectVersion for a version) on
// the source; metadata is copied unless the directive is REPLACE. The copy
// is a single-part object: its ETag is its MD5, whatever the source's was.
func s3CopyObject(c *Call) (any, error) {
	key := c.PathVars["Key"]
	b, err := s3BucketFor(c, key)
	if err != nil {
		return nil, err
	}
	src, err := url.PathUnescape(c.Req.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, Errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	src, query, _ := strings.Cut(strings.TrimPrefix(src, "/"), "?")
	srcBucket, srcKey, ok := strings.Cut(src, "/")
	if !ok || srcBucket == "" || srcKey == "" {
		return nil, Errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	versionID := strings.TrimPrefix(query, "versionId=")
	action := "s3:GetObject"
	if versionID != "" {
		action = "s3:GetObjectVersion"
	}
	sb := c.World.Buckets.Lookup(srcBucket)
	if err := s3AuthorizeAction(c, sb, action, "arn:aws:s3:::"+srcBucket+"/"+srcKey); err != nil {
		return nil, err
	}
	c.Param("x-amz-copy-source", src)
	if sb == nil {
		return nil, Errf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	sv, err := c.World.GetObjectLocked(srcBucket, srcKey, versionID)
	if err != nil {
		return nil, s3Err(err)
	}
	meta, ct := sv.Metadata, sv.ContentType
	directive := c.Req.Header.Get("X-Amz-Metadata-Directive")
	switch directive {
	case "", "COPY":
		if srcBucket == b.Name && srcKey == key && versionID == "" {
			return nil, Errf(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
	case "REPLACE":
		meta, ct = s3UserMetadata(c.Req.Header), s3ContentType(c.Req.Header)
	default:
		return nil, Errf(400, "InvalidArgument", "Unknown metadata directive.")
	}
	v, err := c.World.PutObjectLocked(b.Name, key, sv.Data, ct, meta)
	if err != nil {
		return nil, s3Err(err)
	}
	h := http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}, "Content-Type": {"application/xml"}}
	if b.Versioning != "" {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	if sb.Versioning != "" {
		h.Set("X-Amz-Copy-Source-Version-Id", sv.VersionID)
	}
	return &RawResponse{Header: h, Body: document("CopyObjectResult", s3NS, T("LastModified", v.LastModified), T("ETag", v.ETag))}, nil
}

// ---- DeleteObjects -------------------------------------------------------------

type deleteRequest struct {
	Quiet   bool
	Objects []struct {
		Key       string
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

// s3DeleteObjects deletes up to 1000 keys; each is authorized (and may
// fail) on its own, as S3 reports per key.
func s3DeleteObjects(c *Call) (any, error) {
	name := c.PathVars["Bucket"]
	c.Param("bucketName", name)
	c.Touch("AWS::S3::Bucket", name)
	b := c.World.Buckets.Lookup(name)
	if b == nil {
		if err := s3AuthorizeAction(c, nil, "s3:DeleteObject", "arn:aws:s3:::"+name+"/*"); err != nil {
			return nil, err
		}
		return nil, Errf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	deliverLogsLocked(c.World, b, c.Now)
	var req deleteRequest
	if err := s3XMLBody(c, &req); err != nil {
		return nil, err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return nil, Errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	var results []*X
	for _, o := range req.Objects {
		res := "arn:aws:s3:::" + name + "/" + o.Key
		action := "s3:DeleteObject"
		if o.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		c.Touch("AWS::S3::Object", res)
		fail := func(err error) {
			code, msg := "InternalError", err.Error()
			if ae, ok := err.(*APIError); ok {
				code, msg = ae.Code, ae.Message
			}
			results = append(results, E("Error", T("Key", o.Key), TO("VersionId", o.VersionID), T("Code", code), T("Message", msg)))
		}
		if err := s3AuthorizeAction(c, b, action, res); err != nil {
			fail(err)
			continue
		}
		if o.VersionID != "" {
			if v, err := c.World.GetObjectLocked(name, o.Key, o.VersionID); err == nil {
				if err := s3CheckRetention(c, b, v); err != nil {
					fail(err)
					continue
				}
			}
		}
		v, err := c.World.DeleteObjectLocked(name, o.Key, o.VersionID)
		if err != nil && o.VersionID != "" {
			fail(s3Err(err))
			continue
		}
		if req.Quiet {
			continue
		}
		var marker, markerID *X
		if v != nil && v.DeleteMarker {
			marker, markerID = T("DeleteMarker", true), T("DeleteMarkerVersionId", v.VersionID)
		}
		results = append(results, E("Deleted", T("Key", o.Key), TO("VersionId", o.VersionID), marker, markerID))
	}
	return E("DeleteResult", results...), nil
}

// ---- ACL and access logging ----------------------------------------------------

// s3GetBucketAcl answers the owner's full control, the ACL every bucket
// has under S3's default BucketOwnerEnforced ownership.
func s3GetBucketAcl(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var body strings.Builder
	id := ownerID(b.Account)
	body.WriteString(xml.Header + `<AccessControlPolicy xmlns="` + s3NS + `"><Owner><ID>` + id + `</ID><DisplayName>` + b.Account +
		`</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` +
		id + `</ID><DisplayName>` + b.Account + `</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`)
	return &RawResponse{Header: http.Header{"Content-Type": {"application/xml"}}, Body: []byte(body.String())}, nil
}

func s3GetBucketLogging(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var enabled *X
	if l := awsworld.Of(c.World).BucketLoggingOf(b.Name); l != nil {
		enabled = E("LoggingEnabled", T("TargetBucket", l.TargetBucket), T("TargetPrefix", l.TargetPrefix))
	}
	return E("BucketLoggingStatus", enabled), nil
}

// s3PutBucketLogging turns access logging on (to a target bucket of the
// same account) or off (an empty BucketLoggingStatus): what an attacker
// covering tracks does.
func s3PutBucketLogging(c *Call) (any, error) {
	b, err := s3BucketFor(c, "")
	if err != nil {
		return nil, err
	}
	var cfg struct {
		LoggingEnabled *struct{ TargetBucket, TargetPrefix string }
	}
	if err := s3XMLBody(c, &cfg); err != nil {
		return nil, err
	}
	if cfg.LoggingEnabled == nil {
		awsworld.Of(c.World).SetBucketLogging(b.Name, nil)
		c.Param("loggingEnabled", "false")
		return nil, nil
	}
	t := c.World.Buckets.Lookup(cfg.LoggingEnabled.TargetBucket)
	if t == nil || t.Account != b.Account {
		return nil, Errf(400, "InvalidTargetBucketForLogging", "The target bucket for logging does not exist")
	}
	awsworld.Of(c.World).SetBucketLogging(b.Name, &awsworld.BucketLogging{TargetBucket: t.Name, TargetPrefix: cfg.LoggingEnabled.TargetPrefix})
	c.Param("targetBucket", t.Name)
	return nil, nil
}
