package azuresim

import (
	"crypto/md5" //nolint:gosec // Content-MD5 is MD5 by definition
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill-ir/firedrill/cloudsim/simhttp"
	"github.com/firedrill-ir/firedrill/cloudsim/world"
	"github.com/firedrill-ir/firedrill/cloudsim/world/azureworld"
)

// serveBlob is a minimal Blob service data plane, path-style as Azurite
// serves it: List Containers (GET /{account}?comp=list), List Blobs (GET
// /{account}/{container}?restype=container&comp=list), and on
// /{account}/{container}/{blob} Put Blob (BlockBlob), Put Block, Put Block
// List, GET and HEAD; authorized with an Entra ID bearer token (audience
// https://storage.azure.com) and the caller's blob data actions (listing
// containers is the control-plane action containers/read). Each container
// is a world Bucket named "<account>/<container>".
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	s.World.LockAs(simhttp.Caller("azure", r))
	defer s.World.Unlock()
	now := s.World.Now()
	w.Header().Set(simhttp.LatencyHeader, s.World.JitterLocked(world.PurposeLatency, 60*time.Millisecond+time.Duration(len(body)/(64<<10))*time.Millisecond, 0.25).Round(time.Millisecond).String())
	w.Header().Set("x-ms-request-id", s.World.GUIDLocked())
	w.Header().Set("x-ms-version", "2025-11-05")
	account := segs[0]
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
	q := r.URL.Query()
	if len(segs) == 1 {
		if r.Method != http.MethodGet || q.Get("comp") != "list" {
			blobError(w, http.StatusBadRequest, "UnsupportedQueryParameter",
				fmt.Sprintf("The firedrill simulator serves List Containers (GET ?comp=list) on an account, not %s ?%s.", r.Method, r.URL.RawQuery))
			return
		}
		if !azureworld.Of(s.World).Authorize(tok.ObjectID, "Microsoft.Storage/storageAccounts/blobServices/containers/read", sa.ID(), false) {
			blobError(w, http.StatusForbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
			return
		}
		s.listContainers(w, r, sa)
		return
	}
	container := segs[1]
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
	if len(segs) == 2 {
		if r.Method != http.MethodGet || q.Get("restype") != "container" || q.Get("comp") != "list" {
			blobError(w, http.StatusBadRequest, "UnsupportedQueryParameter",
				fmt.Sprintf("The firedrill simulator serves List Blobs (GET ?restype=container&comp=list) on a container, not %s ?%s.", r.Method, r.URL.RawQuery))
			return
		}
		s.listBlobs(w, r, bucket, container)
		return
	}
	key := strings.Join(segs[2:], "/")
	switch {
	case r.Method == http.MethodPut && q.Get("comp") == "block":
		s.putBlock(w, r, bucket+"/"+key, q.Get("blockid"), body)
	case r.Method == http.MethodPut && q.Get("comp") == "blocklist":
		s.putBlockList(w, r, bucket, key, body)
	case r.Method == http.MethodPut && q.Get("comp") == "":
		if bt := r.Header.Get("x-ms-blob-type"); bt != "BlockBlob" {
			blobError(w, http.StatusBadRequest, "InvalidHeaderValue", fmt.Sprintf("The value for one of the HTTP headers is not in the correct format: x-ms-blob-type %q (the simulator stores BlockBlob).", bt))
			return
		}
		sum := md5.Sum(body) //nolint:gosec
		if want := r.Header.Get("Content-MD5"); want != "" && want != base64.StdEncoding.EncodeToString(sum[:]) {
			blobError(w, http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
			return
		}
		if !s.commitBlob(w, r, bucket, key, body) {
			return
		}
		w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
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
		blobError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb",
			fmt.Sprintf("The firedrill simulator does not serve the blob operation %s ?%s.", r.Method, r.URL.RawQuery))
	}
}

// commitBlob stores a blob's content with its x-ms-meta-* metadata and
// content type, and sets the headers Put Blob and Put Block List answer.
func (s *Server) commitBlob(w http.ResponseWriter, r *http.Request, bucket, key string, data []byte) bool {
	meta := map[string]string{}
	for k, v := range r.Header {
		if m, ok := strings.CutPrefix(strings.ToLower(k), "x-ms-meta-"); ok && len(v) > 0 {
			meta[m] = v[0]
		}
	}
	v, err := s.World.PutObjectLocked(bucket, key, data, r.Header.Get("x-ms-blob-content-type"), meta)
	if err != nil {
		blobError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return false
	}
	w.Header().Set("ETag", v.ETag)
	w.Header().Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
	w.Header().Set("x-ms-request-server-encrypted", "true")
	return true
}

// maxBlocks is how many uncommitted blocks a blob may have.
const maxBlocks = 100000

// putBlock stages one block of a block blob (Put Block): 201, the block
// kept until a Put Block List commits it.
func (s *Server) putBlock(w http.ResponseWriter, r *http.Request, blob, blockID string, body []byte) {
	if _, err := base64.StdEncoding.DecodeString(blockID); err != nil || blockID == "" || len(blockID) > 88 {
		blobError(w, http.StatusBadRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: blockid must be Base64, at most 64 bytes decoded.")
		return
	}
	sum := md5.Sum(body) //nolint:gosec
	if want := r.Header.Get("Content-MD5"); want != "" && want != base64.StdEncoding.EncodeToString(sum[:]) {
		blobError(w, http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
		return
	}
	az := azureworld.Of(s.World)
	blocks := az.UncommittedBlocks.Lookup(blob)
	if blocks == nil {
		blocks = map[string][]byte{}
		az.UncommittedBlocks.Put(blob, blocks)
	}
	if _, exists := blocks[blockID]; !exists && len(blocks) >= maxBlocks {
		blobError(w, http.StatusConflict, "BlockCountExceedsLimit", "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
		return
	}
	blocks[blockID] = append([]byte(nil), body...)
	w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
}

// putBlockList commits staged blocks, in the order listed, as the blob's
// content (Put Block List). Blocks listed as Latest or Uncommitted must
// have been staged; the simulator keeps no committed block list, so
// Committed entries refer to nothing and the list is invalid.
func (s *Server) putBlockList(w http.ResponseWriter, r *http.Request, bucket, key string, body []byte) {
	var in struct {
		Entries []struct {
			XMLName xml.Name
			ID      string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &in); err != nil {
		blobError(w, http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
		return
	}
	az := azureworld.Of(s.World)
	blocks := az.UncommittedBlocks.Lookup(bucket + "/" + key)
	var data []byte
	for _, e := range in.Entries {
		b, ok := blocks[strings.TrimSpace(e.ID)]
		if !ok || e.XMLName.Local == "Committed" {
			blobError(w, http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.")
			return
		}
		data = append(data, b...)
	}
	if !s.commitBlob(w, r, bucket, key, data) {
		return
	}
	az.UncommittedBlocks.Delete(bucket + "/" + key)
	w.WriteHeader(http.StatusCreated)
}

// enumeration is the XML of List Containers and List Blobs.
type enumeration struct {
	XMLName         xml.Name   `xml:"EnumerationResults"`
	ServiceEndpoint string     `xml:"ServiceEndpoint,attr"`
	ContainerName   string     `xml:"ContainerName,attr,omitempty"`
	Prefix          string     `xml:"Prefix"`
	Marker          string     `xml:"Marker,omitempty"`
	MaxResults      int        `xml:"MaxResults,omitempty"`
	Containers      *[]xmlItem `xml:"Containers>Container"`
	Blobs           *[]xmlItem `xml:"Blobs>Blob"`
	NextMarker      string     `xml:"NextMarker"`
}

type xmlItem struct {
	Name       string   `xml:"Name"`
	Properties xmlProps `xml:"Properties"`
	Metadata   xmlMeta  `xml:"Metadata"`
}

type xmlProps struct {
	CreationTime  string `xml:"Creation-Time,omitempty"`
	LastModified  string `xml:"Last-Modified"`
	ETag          string `xml:"Etag"`
	ContentLength *int   `xml:"Content-Length,omitempty"`
	ContentType   string `xml:"Content-Type,omitempty"`
	ContentMD5    string `xml:"Content-MD5,omitempty"`
	BlobType      string `xml:"BlobType,omitempty"`
	AccessTier    string `xml:"AccessTier,omitempty"`
	LeaseStatus   string `xml:"LeaseStatus"`
	LeaseState    string `xml:"LeaseState"`
	Encrypted     string `xml:"ServerEncrypted,omitempty"`
}

// xmlMeta renders metadata as <Metadata><key>value</key>…</Metadata>.
type xmlMeta map[string]string

func (m xmlMeta) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range world.SortedKeys(m) {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// pageOf cuts a sorted list of names at the marker (the first name of the
// page) and maxresults (default 5000), returning the page and the next
// marker.
func pageOf(names []string, q url.Values) ([]string, string, int, error) {
	limit := 5000
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, "", 0, fmt.Errorf("maxresults %q", v)
		}
		limit = min(n, 5000)
	}
	start := 0
	if m := q.Get("marker"); m != "" {
		start = sort.SearchStrings(names, m)
	}
	end := min(len(names), start+limit)
	next := ""
	if end < len(names) {
		next = names[end]
	}
	return names[start:end], next, limit, nil
}

func (s *Server) writeEnumeration(w http.ResponseWriter, r *http.Request, e *enumeration, names []string, item func(string) xmlItem) {
	page, next, limit, err := pageOf(names, r.URL.Query())
	if err != nil {
		blobError(w, http.StatusBadRequest, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range: "+err.Error())
		return
	}
	items := make([]xmlItem, 0, len(page))
	for _, n := range page {
		items = append(items, item(n))
	}
	e.Prefix, e.Marker, e.NextMarker = r.URL.Query().Get("prefix"), r.URL.Query().Get("marker"), next
	if r.URL.Query().Get("maxresults") != "" {
		e.MaxResults = limit
	}
	if e.ContainerName == "" {
		e.Containers = &items
	} else {
		e.Blobs = &items
	}
	out, err := xml.Marshal(e)
	if err != nil {
		blobError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

// listContainers serves List Containers (prefix, marker, maxresults).
func (s *Server) listContainers(w http.ResponseWriter, r *http.Request, sa *azureworld.StorageAccount) {
	prefix := r.URL.Query().Get("prefix")
	var names []string
	for _, c := range sa.Containers {
		if strings.HasPrefix(c, prefix) && s.World.Buckets.Lookup(sa.Name+"/"+c) != nil {
			names = append(names, c)
		}
	}
	sort.Strings(names)
	s.writeEnumeration(w, r, &enumeration{ServiceEndpoint: baseURL(r) + "/" + sa.Name + "/"}, names, func(n string) xmlItem {
		b := s.World.Buckets.Lookup(sa.Name + "/" + n)
		return xmlItem{Name: n, Properties: xmlProps{LastModified: b.Created.UTC().Format(http.TimeFormat),
			ETag: `"0x` + strings.ToUpper(uniqueID(b.Name)[:15]) + `"`, LeaseStatus: "unlocked", LeaseState: "available"}}
	})
}

// listBlobs serves a flat List Blobs (prefix, marker, maxresults) with the
// current version of each blob.
func (s *Server) listBlobs(w http.ResponseWriter, r *http.Request, bucket, container string) {
	prefix := r.URL.Query().Get("prefix")
	b := s.World.Buckets.Lookup(bucket)
	var names []string
	for _, k := range world.SortedKeys(b.Objects) {
		if v, err := s.World.GetObjectLocked(bucket, k, ""); err == nil && v != nil && strings.HasPrefix(k, prefix) {
			names = append(names, k)
		}
	}
	s.writeEnumeration(w, r, &enumeration{ServiceEndpoint: baseURL(r) + "/" + strings.SplitN(bucket, "/", 2)[0] + "/", ContainerName: container}, names, func(n string) xmlItem {
		v, _ := s.World.GetObjectLocked(bucket, n, "")
		sum := md5.Sum(v.Data) //nolint:gosec
		size := len(v.Data)
		created := v.LastModified
		if vs := b.Objects[n]; len(vs) > 0 {
			created = vs[0].LastModified
		}
		return xmlItem{Name: n, Metadata: v.Metadata, Properties: xmlProps{
			CreationTime: created.UTC().Format(http.TimeFormat), LastModified: v.LastModified.UTC().Format(http.TimeFormat),
			ETag: v.ETag, ContentLength: &size, ContentType: orStr(v.ContentType, "application/octet-stream"),
			ContentMD5: base64.StdEncoding.EncodeToString(sum[:]), BlobType: "BlockBlob", AccessTier: "Hot",
			LeaseStatus: "unlocked", LeaseState: "available", Encrypted: "true"}}
	})
}

func blobError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}
