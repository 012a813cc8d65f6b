package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/firedrill-ir/firedrill/providers"
)

// PutEvidenceObject stores an artifact with a SHA-256 checksum that S3
// verifies on receipt, and returns its evidence record.
func (s *Provider) PutEvidenceObject(ctx context.Context, bucket, key string, body []byte, tags map[string]string) (*providers.Evidence, error) {
	p := s
	sum := sha256.Sum256(body)
	in := &s3.PutObjectInput{
		Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: bytes.NewReader(body),
		ContentLength:     awssdk.Int64(int64(len(body))),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    awssdk.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	if len(tags) > 0 {
		v := url.Values{}
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			v.Set(k, tags[k])
		}
		in.Tagging = awssdk.String(v.Encode())
	}
	if _, err := p.s3.PutObject(ctx, in); err != nil {
		return nil, wrapErr("s3:PutObject", "s3://"+bucket+"/"+key, err)
	}
	return &providers.Evidence{
		Kind: providers.EvidenceCommandOutput, ID: key, Location: "s3://" + bucket + "/" + key,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), CollectedBy: p.collector(ctx),
		CollectedAt: p.sleeper.Now(), State: "completed", Tags: maps.Clone(tags),
	}, nil
}

// HashObject streams the object and hashes it. The digest is computed from
// the bytes S3 returns, not taken from metadata, because evidence integrity
// rests on it.
func (s *Provider) HashObject(ctx context.Context, bucket, key string) (*providers.ObjectInfo, error) {
	p := s
	where := "s3://" + bucket + "/" + key
	out, err := p.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)})
	if err != nil {
		return nil, wrapErr("s3:GetObject", where, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return nil, wrapErr("s3:GetObject (reading body)", where, err)
	}
	if out.ContentLength != nil && *out.ContentLength != n {
		return nil, opErr("s3:GetObject", where, providers.ErrFailed, "",
			fmt.Sprintf("read %d bytes, object claims %d", n, *out.ContentLength))
	}
	return &providers.ObjectInfo{
		Bucket: bucket, Key: key, VersionID: awssdk.ToString(out.VersionId), Size: n,
		SHA256: hex.EncodeToString(h.Sum(nil)), ETag: strings.Trim(awssdk.ToString(out.ETag), `"`),
	}, nil
}
