package azure

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 is MD5 by definition
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/firedrill-ir/firedrill/providers"
)

// blobAPIVersion is the Blob service version sent in x-ms-version.
const blobAPIVersion = "2025-11-05"

func (s *Provider) objectURL(bucket, key string) (string, error) {
	acct, container, err := splitBucket("blob", bucket)
	if err != nil {
		return "", err
	}
	return s.blobURL(acct) + "/" + container + "/" + strings.TrimPrefix(key, "/"), nil
}

// metaKey turns a tag key into a valid metadata name (a C# identifier).
func metaKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// PutEvidenceObject uploads a block blob with a Content-MD5 the service
// verifies on receipt; tags become blob metadata. bucket is
// "<storage account>/<container>".
func (s *Provider) PutEvidenceObject(ctx context.Context, bucket, key string, body []byte, tags map[string]string) (*providers.Evidence, error) {
	p := s
	u, err := s.objectURL(bucket, key)
	if err != nil {
		return nil, err
	}
	req, err := runtime.NewRequest(ctx, http.MethodPut, u)
	if err != nil {
		return nil, opErr("blob:PutBlob", u, providers.ErrInvalid, "", err.Error())
	}
	md := md5.Sum(body) //nolint:gosec
	h := req.Raw().Header
	h.Set("x-ms-version", blobAPIVersion)
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-blob-content-type", "application/octet-stream")
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(md[:]))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		h.Set("x-ms-meta-"+metaKey(k), tags[k])
	}
	if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/octet-stream"); err != nil {
		return nil, opErr("blob:PutBlob", u, providers.ErrInvalid, "", err.Error())
	}
	resp, err := p.blob.Do(req)
	if err != nil {
		return nil, wrapErr("blob:PutBlob", u, err)
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusCreated) {
		return nil, wrapErr("blob:PutBlob", u, runtime.NewResponseError(resp))
	}
	sum := sha256.Sum256(body)
	// The location is the blob's canonical URL, as CaptureMemory reports
	// it, not the request URL: with an endpoint override (the simulator)
	// that one carries a loopback port that changes every run, which made
	// evidence manifests and drill timelines differ between identical runs.
	acct, container, _ := splitBucket("blob", bucket)
	loc := fmt.Sprintf("https://%s.blob.core.windows.net/%s/%s", acct, container, strings.TrimPrefix(key, "/"))
	return &providers.Evidence{Kind: providers.EvidenceCommandOutput, ID: key, Location: loc, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(body)), CollectedBy: p.collector(ctx), CollectedAt: p.sleeper.Now(), State: "completed", Tags: maps.Clone(tags)}, nil
}

// HashObject streams the blob and hashes the bytes returned (never a
// stored checksum: evidence integrity rests on it).
func (s *Provider) HashObject(ctx context.Context, bucket, key string) (*providers.ObjectInfo, error) {
	p := s
	u, err := s.objectURL(bucket, key)
	if err != nil {
		return nil, err
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, opErr("blob:GetBlob", u, providers.ErrInvalid, "", err.Error())
	}
	req.Raw().Header.Set("x-ms-version", blobAPIVersion)
	runtime.SkipBodyDownload(req)
	resp, err := p.blob.Do(req)
	if err != nil {
		return nil, wrapErr("blob:GetBlob", u, err)
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, wrapErr("blob:GetBlob", u, runtime.NewResponseError(resp))
	}
	hsh := sha256.New()
	n, err := io.Copy(hsh, resp.Body)
	if err != nil {
		return nil, wrapErr("blob:GetBlob (reading body)", u, err)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return nil, opErr("blob:GetBlob", u, providers.ErrFailed, "", fmt.Sprintf("read %d bytes, blob claims %d", n, resp.ContentLength))
	}
	return &providers.ObjectInfo{Bucket: bucket, Key: key, Size: n, SHA256: hex.EncodeToString(hsh.Sum(nil)),
		ETag: strings.Trim(resp.Header.Get("ETag"), `"`)}, nil
}
