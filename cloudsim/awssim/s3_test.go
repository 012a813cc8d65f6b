package awssim_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"github.com/firedrill-ir/firedrill/cloudsim/world/awsworld"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/firedrill-ir/firedrill/cloudsim/awssim"
	"github.com/firedrill-ir/firedrill/cloudsim/awssim/awssimtest"
)

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// anonymous is an unsigned S3 client, as an outsider on the internet.
func anonymous(env *awssimtest.Env) *s3.Client {
	cfg := env.Admin.Copy()
	cfg.Credentials = aws.AnonymousCredentials{}
	return s3Client(cfg)
}

func mkBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
	return out
}

func get(c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func TestS3BucketLifecycle(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "evidence")

	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("evidence")})
	require.NoError(t, err)
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("evidence")})
	require.NoError(t, err)
	require.Equal(t, s3types.BucketLocationConstraint(""), loc.LocationConstraint, "us-east-1 is the empty constraint")

	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("eu-logs"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}})
	require.NoError(t, err)
	loc, err = c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("eu-logs")})
	require.NoError(t, err)
	require.Equal(t, s3types.BucketLocationConstraintEuWest1, loc.LocationConstraint)

	// Another account's buckets are not listed, and its names are taken.
	env.World.Lock()
	env.World.AddAccountLocked("aws", "444455556666", "other", "us-east-1")
	awsworld.Of(env.World).AddUser("444455556666", "outsider", "arn:aws:iam::aws:policy/AdministratorAccess")
	k, err := awsworld.Of(env.World).AddAccessKey("outsider")
	env.World.Unlock()
	require.NoError(t, err)
	other := s3Client(env.Config(k.ID, k.Secret, ""))
	mkBucket(t, other, "theirs")

	list, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	var names []string
	for _, b := range list.Buckets {
		names = append(names, *b.Name)
	}
	require.Equal(t, []string{"eu-logs", "evidence"}, names)
	require.Equal(t, awssimtest.Start, *list.Buckets[0].CreationDate)
	require.NotEmpty(t, *list.Owner.ID)

	page, err := c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, page.Buckets, 1)
	require.NotNil(t, page.ContinuationToken)
	page, err = c.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1), ContinuationToken: page.ContinuationToken})
	require.NoError(t, err)
	require.Equal(t, "evidence", *page.Buckets[0].Name)
	require.Nil(t, page.ContinuationToken)

	var owned *s3types.BucketAlreadyOwnedByYou
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("evidence")})
	require.ErrorAs(t, err, &owned)
	var taken *s3types.BucketAlreadyExists
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("theirs")})
	require.ErrorAs(t, err, &taken)

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"invalid name", func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return err
		}, "InvalidBucketName"},
		{"explicit us-east-1 constraint", func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b-east"),
				CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "us-east-1"}})
			return err
		}, "InvalidLocationConstraint"},
		{"location of a missing bucket", func() error {
			_, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
		{"delete a missing bucket", func() error {
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code) })
	}

	put(t, c, "evidence", "disk.img", "data")
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("evidence")})
	requireCode(t, err, "BucketNotEmpty")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("evidence"), Key: aws.String("disk.img")})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("evidence")})
	require.NoError(t, err)
	var nf *s3types.NotFound
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("evidence")})
	require.ErrorAs(t, err, &nf, "HEAD of a missing bucket is a bodiless 404")
}

func TestS3Objects(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "data")

	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv"),
		Body: strings.NewReader("a,b,c\n1,2,3\n"), ContentType: aws.String("text/csv"), Metadata: map[string]string{"case": "ir-7"}})
	require.NoError(t, err)
	require.Equal(t, `"`+md5hex("a,b,c\n1,2,3\n")+`"`, *out.ETag)
	require.Nil(t, out.VersionId, "no version id while versioning is off")

	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv")})
	require.NoError(t, err)
	body, err := io.ReadAll(g.Body)
	require.NoError(t, err)
	require.Equal(t, "a,b,c\n1,2,3\n", string(body))
	require.Equal(t, "text/csv", *g.ContentType)
	require.Equal(t, "ir-7", g.Metadata["case"])
	require.Equal(t, int64(12), *g.ContentLength)
	require.Equal(t, awssimtest.Start, *g.LastModified)

	for _, tc := range []struct {
		rng, want, contentRange string
	}{
		{"bytes=0-4", "a,b,c", "bytes 0-4/12"},
		{"bytes=6-", "1,2,3\n", "bytes 6-11/12"},
		{"bytes=-2", "3\n", "bytes 10-11/12"},
		{"bytes=6-100", "1,2,3\n", "bytes 6-11/12"},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv"), Range: aws.String(tc.rng)})
			require.NoError(t, err)
			b, err := io.ReadAll(g.Body)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			require.Equal(t, tc.contentRange, *g.ContentRange)
		})
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv"), Range: aws.String("bytes=50-60")})
	requireCode(t, err, "InvalidRange")

	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv")})
	require.NoError(t, err)
	require.Equal(t, int64(12), *h.ContentLength)
	require.Equal(t, *out.ETag, *h.ETag)

	var nf *s3types.NotFound
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("missing")})
	require.ErrorAs(t, err, &nf)
	var nk *s3types.NoSuchKey
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("missing")})
	require.ErrorAs(t, err, &nk)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	requireCode(t, err, "NoSuchBucket")
	var nb *s3types.NoSuchBucket
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nobucket")})
	require.ErrorAs(t, err, &nb)

	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/report 1.csv")})
	require.NoError(t, err)
	_, err = get(c, "data", "dir/report 1.csv")
	require.ErrorAs(t, err, &nk)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("corrupt"),
		Body: strings.NewReader("payload"), ChecksumCRC32: aws.String("AAAAAA==")})
	requireCode(t, err, "BadDigest")
	ok, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("checked"),
		Body: strings.NewReader("payload"), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256})
	require.NoError(t, err)
	require.NotNil(t, ok.ChecksumSHA256, "S3 echoes the verified checksum")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("never-existed")})
	require.NoError(t, err, "deleting a missing key succeeds, as in S3")
}

func TestS3ListObjectsV2(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "logs")
	for _, k := range []string{"a/1", "a/2", "b/x/1", "b/y", "c", "d"} {
		put(t, c, "logs", k, k)
	}

	all, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs")})
	require.NoError(t, err)
	require.Equal(t, int32(6), *all.KeyCount)
	require.False(t, *all.IsTruncated)
	require.Equal(t, "a/1", *all.Contents[0].Key)
	require.Equal(t, int64(3), *all.Contents[0].Size)

	grouped, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	var prefixes, keys []string
	for _, p := range grouped.CommonPrefixes {
		prefixes = append(prefixes, *p.Prefix)
	}
	for _, o := range grouped.Contents {
		keys = append(keys, *o.Key)
	}
	require.Equal(t, []string{"a/", "b/"}, prefixes)
	require.Equal(t, []string{"c", "d"}, keys)
	require.Equal(t, int32(4), *grouped.KeyCount)

	sub, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), Prefix: aws.String("b/"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Len(t, sub.Contents, 1)
	require.Equal(t, "b/y", *sub.Contents[0].Key)
	require.Equal(t, "b/x/", *sub.CommonPrefixes[0].Prefix)

	// Pagination with common prefixes counting toward MaxKeys.
	var seen []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, cp := range page.CommonPrefixes {
			seen = append(seen, *cp.Prefix)
		}
		for _, o := range page.Contents {
			seen = append(seen, *o.Key)
		}
	}
	require.Equal(t, []string{"a/", "b/", "c", "d"}, seen)
	require.Equal(t, 4, pages)

	after, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), StartAfter: aws.String("b/y")})
	require.NoError(t, err)
	require.Equal(t, int32(2), *after.KeyCount)

	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("logs"), MaxKeys: aws.Int32(4)})
	require.NoError(t, err)
	require.Len(t, v1.Contents, 4)
	require.True(t, *v1.IsTruncated)
	require.Equal(t, "b/y", *v1.NextMarker)

	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), ContinuationToken: aws.String("garbage")})
	requireCode(t, err, "InvalidArgument")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("none")})
	requireCode(t, err, "NoSuchBucket")
}

func TestS3Versioning(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "vault")

	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("vault")})
	require.NoError(t, err)
	require.Equal(t, s3types.BucketVersioningStatus(""), v.Status)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("vault"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	require.NoError(t, err)
	v, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("vault")})
	require.NoError(t, err)
	require.Equal(t, s3types.BucketVersioningStatusEnabled, v.Status)

	first := put(t, c, "vault", "k", "one")
	env.Clock.Advance(time.Second)
	second := put(t, c, "vault", "k", "two")
	require.NotEqual(t, *first.VersionId, *second.VersionId)

	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vault"), Key: aws.String("k"), VersionId: first.VersionId})
	require.NoError(t, err)
	b, _ := io.ReadAll(g.Body)
	require.Equal(t, "one", string(b))
	require.Equal(t, *first.VersionId, *g.VersionId)

	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("k")})
	require.NoError(t, err)
	require.True(t, *del.DeleteMarker, "deleting on a versioned bucket adds a delete marker")
	_, err = get(c, "vault", "k")
	requireCode(t, err, "NoSuchKey")

	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vault")})
	require.NoError(t, err)
	require.Len(t, vs.Versions, 2, "the data survives the delete")
	require.Len(t, vs.DeleteMarkers, 1)
	require.True(t, *vs.DeleteMarkers[0].IsLatest)
	require.Equal(t, *second.VersionId, *vs.Versions[0].VersionId, "newest version first")

	page, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vault"), MaxKeys: aws.Int32(2)})
	require.NoError(t, err)
	require.True(t, *page.IsTruncated)
	rest, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("vault"), KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker})
	require.NoError(t, err)
	require.Len(t, rest.Versions, 1)
	require.Equal(t, *first.VersionId, *rest.Versions[0].VersionId)

	// Removing the marker by version id restores the object.
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("k"), VersionId: del.VersionId})
	require.NoError(t, err)
	got, err := get(c, "vault", "k")
	require.NoError(t, err)
	require.Equal(t, "two", got)

	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vault"), Key: aws.String("k"), VersionId: aws.String("nosuchversion")})
	requireCode(t, err, "NoSuchVersion")
}

func TestS3ObjectLock(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "plain")
	lockCfg := &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
		Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1)}}}
	_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("plain"), ObjectLockConfiguration: lockCfg})
	requireCode(t, err, "InvalidBucketState")
	_, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	requireCode(t, err, "ObjectLockConfigurationNotFoundError")

	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true)})
	require.NoError(t, err)
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("locked")})
	require.NoError(t, err)
	require.Equal(t, s3types.BucketVersioningStatusEnabled, v.Status, "Object Lock turns versioning on")
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("locked"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	requireCode(t, err, "InvalidBucketState")

	got, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	require.NoError(t, err)
	require.Equal(t, s3types.ObjectLockEnabledEnabled, got.ObjectLockConfiguration.ObjectLockEnabled)
	require.Nil(t, got.ObjectLockConfiguration.Rule)

	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"), ObjectLockConfiguration: lockCfg})
	require.NoError(t, err)
	got, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	require.NoError(t, err)
	require.Equal(t, s3types.ObjectLockRetentionModeCompliance, got.ObjectLockConfiguration.Rule.DefaultRetention.Mode)
	require.Equal(t, int32(1), *got.ObjectLockConfiguration.Rule.DefaultRetention.Days)

	bad := &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
		Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)}}}
	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"), ObjectLockConfiguration: bad})
	requireCode(t, err, "InvalidArgument")

	obj := put(t, c, "locked", "evidence.tar", "bits")
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("evidence.tar")})
	require.NoError(t, err)
	require.Equal(t, s3types.ObjectLockModeCompliance, h.ObjectLockMode)
	require.Equal(t, awssimtest.Start.Add(24*time.Hour), *h.ObjectLockRetainUntilDate)

	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: aws.String("evidence.tar"), VersionId: obj.VersionId})
	requireCode(t, err, "AccessDenied")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: aws.String("evidence.tar"), VersionId: obj.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	requireCode(t, err, "AccessDenied")

	env.Clock.Advance(24 * time.Hour)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked"), Key: aws.String("evidence.tar"), VersionId: obj.VersionId})
	require.NoError(t, err, "retention has run out")
}

func TestS3GovernanceRetentionBypass(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gov"), ObjectLockEnabledForBucket: aws.Bool(true)})
	require.NoError(t, err)
	_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("gov"),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Years: aws.Int32(1)}}}})
	require.NoError(t, err)
	obj := put(t, c, "gov", "k", "v")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("gov"), Key: aws.String("k"), VersionId: obj.VersionId})
	requireCode(t, err, "AccessDenied")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("gov"), Key: aws.String("k"), VersionId: obj.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	require.NoError(t, err, "an administrator may bypass GOVERNANCE retention")
}

const publicRead = `{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`

func TestS3BucketPolicyAndPublicAccessBlock(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	anon := anonymous(env)
	mkBucket(t, c, "site")
	put(t, c, "site", "index.html", "<h1>hi</h1>")

	_, err := get(anon, "site", "index.html")
	requireCode(t, err, "AccessDenied")
	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("site")})
	requireCode(t, err, "NoSuchBucketPolicy")
	_, err = c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("site")})
	requireCode(t, err, "NoSuchBucketPolicy")

	for _, tc := range []struct{ name, doc string }{
		{"not json", "{"},
		{"no principal", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`},
		{"foreign resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`},
		{"non-s3 action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:StopInstances","Resource":"arn:aws:s3:::site/*"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(tc.doc)})
			requireCode(t, err, "MalformedPolicy")
		})
	}

	// A public policy admits anonymous readers.
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(publicRead)})
	require.NoError(t, err)
	gp, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("site")})
	require.NoError(t, err)
	require.Equal(t, publicRead, *gp.Policy, "GetBucketPolicy answers the stored JSON as is")
	st, err := c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("site")})
	require.NoError(t, err)
	require.True(t, *st.PolicyStatus.IsPublic)
	body, err := get(anon, "site", "index.html")
	require.NoError(t, err)
	require.Equal(t, "<h1>hi</h1>", body)
	_, err = anon.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site")})
	requireCode(t, err, "AccessDenied")
	_, err = anon.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("defaced"), Body: strings.NewReader("x")})
	requireCode(t, err, "AccessDenied")

	// Public access block: RestrictPublicBuckets cuts anonymous access at once.
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("site")})
	requireCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("site"),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true), BlockPublicAcls: aws.Bool(true)}})
	require.NoError(t, err)
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("site")})
	require.NoError(t, err)
	require.True(t, *pab.PublicAccessBlockConfiguration.RestrictPublicBuckets)
	require.True(t, *pab.PublicAccessBlockConfiguration.BlockPublicAcls)
	require.False(t, *pab.PublicAccessBlockConfiguration.BlockPublicPolicy)
	_, err = get(anon, "site", "index.html")
	requireCode(t, err, "AccessDenied")
	_, err = get(c, "site", "index.html")
	require.NoError(t, err, "the owner's own principals are unaffected")

	// BlockPublicPolicy refuses new public policies (existing ones stay, as in S3).
	_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("site"),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(true)}})
	require.NoError(t, err)
	body, err = get(anon, "site", "index.html")
	require.NoError(t, err, "BlockPublicPolicy alone does not affect the existing policy")
	require.Equal(t, "<h1>hi</h1>", body)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(publicRead)})
	requireCode(t, err, "AccessDenied")

	_, err = c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("site")})
	require.NoError(t, err)
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("site")})
	requireCode(t, err, "NoSuchPublicAccessBlockConfiguration")

	_, err = c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("site")})
	require.NoError(t, err)
	_, err = get(anon, "site", "index.html")
	requireCode(t, err, "AccessDenied")
	_, err = anon.ListBuckets(ctx, &s3.ListBucketsInput{})
	requireCode(t, err, "AccessDenied")
}

func TestS3BucketPolicyDenyBeatsAdminAndAllowGrantsUsers(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "case-42")
	put(t, c, "case-42", "memory.lime", "RAM")
	analyst := s3Client(env.UserConfig(t, "analyst")) // no identity policies

	_, err := get(analyst, "case-42", "memory.lime")
	requireCode(t, err, "AccessDenied")
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/analyst"},` +
		`"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::case-42","arn:aws:s3:::case-42/*"]}]}`
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("case-42"), Policy: aws.String(grant)})
	require.NoError(t, err)
	body, err := get(analyst, "case-42", "memory.lime")
	require.NoError(t, err, "a same-account bucket-policy allow suffices")
	require.Equal(t, "RAM", body)
	_, err = analyst.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("case-42")})
	require.NoError(t, err)
	_, err = analyst.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("case-42"), Key: aws.String("memory.lime")})
	requireCode(t, err, "AccessDenied")

	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::case-42/*"},` +
		`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::case-42","arn:aws:s3:::case-42/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("case-42"), Policy: aws.String(deny)})
	require.NoError(t, err)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("case-42"), Key: aws.String("memory.lime")})
	requireCode(t, err, "AccessDenied")
	_, err = get(c, "case-42", "memory.lime")
	requireCode(t, err, "AccessDenied") // plain HTTP: aws:SecureTransport is false
}

func TestS3BucketTagging(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "tagged")
	_, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged")})
	requireCode(t, err, "NoSuchTagSet")
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tagged"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("ir-status"), Value: aws.String("quarantined")}, {Key: aws.String("case"), Value: aws.String("42")}}}})
	require.NoError(t, err)
	got, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged")})
	require.NoError(t, err)
	require.Len(t, got.TagSet, 2)
	require.Equal(t, "case", *got.TagSet[0].Key)
	require.Equal(t, "quarantined", *got.TagSet[1].Value)
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tagged"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}}})
	requireCode(t, err, "InvalidTag")
	_, err = c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("tagged")})
	require.NoError(t, err)
	_, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged")})
	requireCode(t, err, "NoSuchTagSet")
}

// TestS3UnknownSubresourcesAreNotImplemented guards against the gofakes3
// pitfall: an unserved subresource must not fall through to a listing.
func TestS3UnknownSubresourcesAreNotImplemented(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	c := s3Client(env.Admin)
	mkBucket(t, c, "bkt-1")
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"GetBucketCors", func() error {
			_, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("bkt-1")})
			return err
		}},
		{"GetBucketWebsite", func() error {
			_, err := c.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: aws.String("bkt-1")})
			return err
		}},
		{"GetBucketEncryption", func() error {
			_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("bkt-1")})
			return err
		}},
		{"GetObjectAcl", func() error {
			_, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("bkt-1"), Key: aws.String("k")})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), "NotImplemented") })
	}
}

// TestS3ActionNames checks that operations are authorized with S3's real
// IAM action names and bucket/object ARNs.
func TestS3ActionNames(t *testing.T) {
	env := awssimtest.New(t)
	ctx := context.Background()
	mkBucket(t, s3Client(env.Admin), "bkt-2")
	put(t, s3Client(env.Admin), "bkt-2", "k", "v")
	cfg := env.UserConfig(t, "scoped")
	env.World.Lock()
	awsworld.Of(env.World).Users.Lookup("scoped").Policies["s3"] = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["s3:ListBucket","s3:PutBucketPublicAccessBlock","s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::bkt-2","*"]},` +
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt-2/k"}]}`
	env.World.Unlock()
	c := s3Client(cfg)
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"ListBuckets needs s3:ListAllMyBuckets", func() error { _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); return err }, ""},
		{"ListObjectsV2 is s3:ListBucket", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt-2")})
			return err
		}, ""},
		{"HeadBucket is s3:ListBucket", func() error {
			_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt-2")})
			return err
		}, ""},
		{"HeadObject is s3:GetObject", func() error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt-2"), Key: aws.String("k")})
			return err
		}, ""},
		{"GetObject scoped to its key", func() error { _, err := get(c, "bkt-2", "other"); return err }, "AccessDenied"},
		{"PutPublicAccessBlock is s3:PutBucketPublicAccessBlock", func() error {
			_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("bkt-2"),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(true)}})
			return err
		}, ""},
		{"GetPublicAccessBlock is not granted", func() error {
			_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("bkt-2")})
			return err
		}, "AccessDenied"},
		{"PutObject is not granted", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt-2"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, "AccessDenied"},
		{"ListObjectVersions is s3:ListBucketVersions", func() error {
			_, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt-2")})
			return err
		}, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			requireCode(t, err, tc.code)
		})
	}
}

// TestS3PutObjectOverTLSUsesAWSChunked runs the SDK's default upload path:
// over TLS with checksums "when supported", PutObject sends aws-chunked with
// a CRC32 trailer. The stored object must be the exact bytes.
func TestS3PutObjectOverTLSUsesAWSChunked(t *testing.T) {
	env := awssimtest.New(t)
	srv := awssim.New(env.World)
	var mu sync.Mutex
	var encodings, payloads []string
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			encodings = append(encodings, r.Header.Get("Content-Encoding"))
			payloads = append(payloads, r.Header.Get("X-Amz-Content-Sha256"))
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	cfg := env.Admin.Copy()
	cfg.BaseEndpoint = aws.String(ts.URL)
	cfg.HTTPClient = ts.Client()
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	c := s3Client(cfg)
	mkBucket(t, c, "tls")

	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i*7 + i/256)
	}
	for name, body := range map[string]io.Reader{"seekable": bytes.NewReader(data), "empty": bytes.NewReader(nil)} {
		t.Run(name, func(t *testing.T) {
			want, _ := io.ReadAll(body)
			_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String(name), Body: bytes.NewReader(want)})
			require.NoError(t, err)
			out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String(name)})
			require.NoError(t, err)
			got, err := io.ReadAll(out.Body)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			require.True(t, bytes.Equal(want, got), "object bytes must round-trip exactly")
			require.Equal(t, fmt.Sprintf(`"%s"`, md5hex(string(want))), *out.ETag)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, encodings, "aws-chunked", "the SDK must have used aws-chunked framing")
	require.Contains(t, payloads, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
}

// TestS3SignedStreamingUpload sends a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body
// (signed chunks, as older SDKs and the CLI send) through the real signer.
func TestS3SignedStreamingUpload(t *testing.T) {
	env := awssimtest.New(t)
	mkBucket(t, s3Client(env.Admin), "signed")
	payload := strings.Repeat("evidence-", 10)
	chunked := fmt.Sprintf("%x;chunk-signature=%064d\r\n%s\r\n0;chunk-signature=%064d\r\n\r\n", len(payload), 1, payload, 2)
	req, err := http.NewRequest(http.MethodPut, env.URL+"/signed/chunked.bin", strings.NewReader(chunked))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(payload)))
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: env.AdminKey.ID, SecretAccessKey: env.AdminKey.Secret}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	require.NoError(t, signer.SignHTTP(context.Background(), creds, req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", awssimtest.Region, awssimtest.Start))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got, err := get(s3Client(env.Admin), "signed", "chunked.bin")
	require.NoError(t, err)
	require.Equal(t, payload, got)

	// A wrong decoded length is IncompleteBody, and nothing is stored.
	req, _ = http.NewRequest(http.MethodPut, env.URL+"/signed/short.bin", strings.NewReader(chunked))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", "5")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	require.NoError(t, signer.SignHTTP(context.Background(), creds, req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", awssimtest.Region, awssimtest.Start))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(b), "<Code>IncompleteBody</Code>")
}

func TestDecodeAWSChunked(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		trailers         map[string]string
		bad              bool
	}{
		{name: "unsigned with trailer", body: "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
			want: "hello world", trailers: map[string]string{"x-amz-checksum-crc32": "DUoRhQ=="}},
		{name: "signed chunks", body: "3;chunk-signature=abc\r\nabc\r\n0;chunk-signature=def\r\n\r\n", want: "abc", trailers: map[string]string{}},
		{name: "empty body", body: "0\r\n\r\n", want: "", trailers: map[string]string{}},
		{name: "signed trailer", body: "1\r\nz\r\n0\r\nx-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:00ff\r\n\r\n", want: "z",
			trailers: map[string]string{"x-amz-checksum-sha256": "abc=", "x-amz-trailer-signature": "00ff"}},
		{name: "size overruns", body: "ff\r\nshort\r\n0\r\n\r\n", bad: true},
		{name: "not hex", body: "zz\r\nabc\r\n", bad: true},
		{name: "missing CRLF after data", body: "3\r\nabcd0\r\n\r\n", bad: true},
		{name: "no header terminator", body: "3", bad: true},
		{name: "bad trailer", body: "0\r\nnocolon\r\n\r\n", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, trailers, err := awssim.DecodeAWSChunked([]byte(tc.body))
			if tc.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
			require.Equal(t, tc.trailers, trailers)
		})
	}
}

// md5hex is S3's ETag (without quotes) for a single-part upload.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
