package azuresim

import (
	"crypto/md5" //nolint:gosec // Content-MD5 is MD5 by definition
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// serveBlob is a minimal Blob service data plane, path-style as Azurite
// serves it: PUT (BlockBlob), GET and HEAD of /{account}/{container}/{blob},
// authorized with an Entra ID bearer token (audience https://storage.azure.com)
// and the caller's blob data actions. Each container is a world Bucket named
// "<account>/<container>".
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	s.World.LockAs(simhttp.Caller("azure", r))
	defer s.World.Unlock()
	now := s.World.Now()
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 60*time.Millisecond+time.Duration(len(body)/(64<<10))*time.Millisecond, 0.25).Round(time.Millisecond).String())
	w.Header().Set("x-ms-request-id", s.World.GUIDLocked())
	w.Header().Set("x-ms-version", "2025-11-05")
	if len(segs) < 3 {
		blobError(w, http.StatusBadRequest, "InvalidUri", "The requested URI does not represent any resource on the server.")
		return
	}
	account, container, key := segs[0], segs[1], strings.Join(segs[2:], "/")
	sa := azureworld.Of(s.World).Storage.Lookup(account)
	raw, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		blobError(w, http.StatusUnauthorized, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
		return
	}
	tok, _, err := azureworld.Of(s.World).AuthenticateToken(raw, now)
	if err != nil {
		blobError(w, http.StatusUnauthorized, "InvalidAuthenticationInfo", "Server failed to authenticate the request. "+err.Error())
		return
	}
	if !strings.HasPrefix(tok.Audience, "https://storage.azure.com") {
		blobError(w, http.StatusUnauthorized, "InvalidAuthenticationInfo", "Audience validation failed. Audience did not match.")
		return
	}
	action := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	if r.Method == http.MethodPut {
		action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	}
	if !azureworld.Of(s.World).Authorize(tok.ObjectID, action, azureworld.ContainerScope(sa, container), true) {
		blobError(w, http.StatusForbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
		return
	}
	bucket := account + "/" + container
	if s.World.Buckets.Lookup(bucket) == nil {
		blobError(w, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	switch r.Method {
	case http.MethodPut:
		if bt := r.Header.Get("x-ms-blob-type"); bt != "BlockBlob" {
			blobError(w, http.StatusBadRequest, "InvalidHeaderValue", fmt.Sprintf("The value for one of the HTTP headers is not in the correct format: x-ms-blob-type %q (the simulator stores BlockBlob).", bt))
			return
		}
		sum := md5.Sum(body) //nolint:gosec
		if want := r.Header.Get("Content-MD5"); want != "" && want != base64.StdEncoding.EncodeToString(sum[:]) {
			blobError(w, http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
			return
		}
		meta := map[string]string{}
		for k, v := range r.Header {
			if m, ok := strings.CutPrefix(strings.ToLower(k), "x-ms-meta-"); ok && len(v) > 0 {
				meta[m] = v[0]
			}
		}
		v, err := s.World.PutObjectLocked(bucket, key, body, r.Header.Get("x-ms-blob-content-type"), meta)
		if err != nil {
			blobError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		w.Header().Set("ETag", v.ETag)
		w.Header().Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
		w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("x-ms-request-server-encrypted", "true")
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet, http.MethodHead:
		v, err := s.World.GetObjectLocked(bucket, key, "")
		if err != nil || v == nil {
			blobError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		sum := md5.Sum(v.Data) //nolint:gosec
		w.Header().Set("Content-Type", orStr(v.ContentType, "application/octet-stream"))
		w.Header().Set("Content-Length", strconv.Itoa(len(v.Data)))
		w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("ETag", v.ETag)
		w.Header().Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(v.Data)
		}
	default:
		blobError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
	}
}

func blobError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}
