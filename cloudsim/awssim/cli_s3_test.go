package awssim_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLIS3MultipartCopyDelete: `aws s3 cp` of a memory image over 8 MiB
// goes multipart; the object reads back whole with S3's multipart ETag;
// copy, batch delete, ACL and logging read as S3 answers them.
func TestCLIS3MultipartCopyDelete(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	const bucket = "firedrill-demo-forensics"
	dir := t.TempDir()
	image := make([]byte, 10<<20+12345)
	for i := range image {
		image[i] = byte(i*7 + i>>12)
	}
	src := filepath.Join(dir, "mem.lime")
	require.NoError(t, os.WriteFile(src, image, 0o600))
	e.run("s3", "cp", src, "s3://"+bucket+"/case-1/mem.lime", "--metadata", "Case-Id=IR-42,sha256=abc")

	// The CLI's default part size is 8 MiB: two parts.
	p1, p2 := md5.Sum(image[:8<<20]), md5.Sum(image[8<<20:])
	joined := md5.Sum(append(p1[:], p2[:]...))
	head := e.run("s3api", "head-object", "--bucket", bucket, "--key", "case-1/mem.lime")
	require.Equal(t, fmt.Sprintf(`"%s-2"`, hex.EncodeToString(joined[:])), head["ETag"])
	require.EqualValues(t, len(image), head["ContentLength"])
	require.Equal(t, map[string]any{"case-id": "IR-42", "sha256": "abc"}, head["Metadata"], "metadata keys as written, lowercase")
	back := filepath.Join(dir, "back.lime")
	e.run("s3", "cp", "s3://"+bucket+"/case-1/mem.lime", back)
	got, err := os.ReadFile(back)
	require.NoError(t, err)
	require.True(t, bytes.Equal(image, got), "the object reads back byte for byte")
	for _, op := range []string{"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} {
		require.Contains(t, e.audited(), op)
	}

	// Low-level multipart: list parts, abort; an aborted upload is gone.
	up := e.run("s3api", "create-multipart-upload", "--bucket", bucket, "--key", "case-1/partial")
	uploadID := up["UploadId"].(string)
	part := filepath.Join(dir, "part")
	require.NoError(t, os.WriteFile(part, []byte("first part"), 0o600))
	e.run("s3api", "upload-part", "--bucket", bucket, "--key", "case-1/partial", "--upload-id", uploadID, "--part-number", "1", "--body", part)
	parts := list(t, e.run("s3api", "list-parts", "--bucket", bucket, "--key", "case-1/partial", "--upload-id", uploadID), "Parts")
	require.Len(t, parts, 1)
	require.EqualValues(t, 10, parts[0].(map[string]any)["Size"])
	require.Len(t, list(t, e.run("s3api", "list-multipart-uploads", "--bucket", bucket), "Uploads"), 1)
	e.run("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "case-1/partial", "--upload-id", uploadID)
	require.Contains(t, e.fail("s3api", "list-parts", "--bucket", bucket, "--key", "case-1/partial", "--upload-id", uploadID), "NoSuchUpload")

	// CopyObject keeps the data, the ETag and the metadata.
	e.run("s3", "cp", "s3://firedrill-demo-app-data/config/app.json", "s3://"+bucket+"/case-1/app.json")
	cp := e.run("s3api", "head-object", "--bucket", bucket, "--key", "case-1/app.json")
	orig := e.run("s3api", "head-object", "--bucket", "firedrill-demo-app-data", "--key", "config/app.json")
	require.Equal(t, orig["ETag"], cp["ETag"])
	require.Contains(t, e.audited(), "CopyObject")
	e.run("s3api", "copy-object", "--bucket", bucket, "--key", "case-1/mem-copy.lime", "--copy-source", bucket+"/case-1/mem.lime")
	whole := md5.Sum(image)
	require.Equal(t, `"`+hex.EncodeToString(whole[:])+`"`, e.run("s3api", "head-object", "--bucket", bucket, "--key", "case-1/mem-copy.lime")["ETag"],
		"a copy of a multipart object is a single-part object")
	require.Contains(t, e.fail("s3api", "copy-object", "--bucket", bucket, "--key", "x", "--copy-source", "firedrill-demo-app-data/nope"), "NoSuchKey")

	// DeleteObjects: one existing key, one missing (S3 reports both deleted).
	del := e.run("s3api", "delete-objects", "--bucket", "firedrill-demo-app-data",
		"--delete", `{"Objects":[{"Key":"customers/2026-11.csv"},{"Key":"never/was"}]}`)
	require.Len(t, list(t, del, "Deleted"), 2)
	require.Contains(t, e.fail("s3api", "head-object", "--bucket", "firedrill-demo-app-data", "--key", "customers/2026-11.csv"), "404")
	require.Contains(t, e.audited(), "DeleteObjects")

	acl := e.run("s3api", "get-bucket-acl", "--bucket", bucket)
	grants := list(t, acl, "Grants")
	require.Len(t, grants, 1)
	require.Equal(t, "FULL_CONTROL", grants[0].(map[string]any)["Permission"])
	require.Equal(t, "CanonicalUser", obj(t, grants[0], "Grantee")["Type"])

	logging := e.run("s3api", "get-bucket-logging", "--bucket", "firedrill-demo-app-data")
	require.Equal(t, "firedrill-demo-logs", obj(t, logging, "LoggingEnabled")["TargetBucket"])
	e.run("s3api", "put-bucket-logging", "--bucket", "firedrill-demo-app-data", "--bucket-logging-status", "{}")
	require.NotContains(t, e.run("s3api", "get-bucket-logging", "--bucket", "firedrill-demo-app-data"), "LoggingEnabled")
	require.Contains(t, e.audited(), "PutBucketLogging")

	// An unserved S3 operation names itself.
	unserved := e.fail("s3api", "get-bucket-website", "--bucket", bucket)
	require.Contains(t, unserved, "NotImplemented")
	require.Contains(t, unserved, `operation "GetBucketWebsite" of s3 is not supported`)
}
