package world

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Storage errors; front ends map them to wire codes with errors.Is.
var (
	ErrNoSuchBucket      = errors.New("NoSuchBucket")
	ErrBucketOwnedByYou  = errors.New("BucketAlreadyOwnedByYou")
	ErrBucketExists      = errors.New("BucketAlreadyExists")
	ErrBucketNotEmpty    = errors.New("BucketNotEmpty")
	ErrNoSuchKey         = errors.New("NoSuchKey")
	ErrNoSuchVersion     = errors.New("NoSuchVersion")
	ErrVersionIsMarker   = errors.New("MethodNotAllowed")
	ErrInvalidBucketName = errors.New("InvalidBucketName")
)

// NullVersion is the version id of objects written while versioning is off
// or suspended, as S3 names it.
const NullVersion = "null"

// ValidBucketName applies S3's general-purpose bucket naming rules.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			return false
		}
	}
	first, last := name[0], name[len(name)-1]
	alnum := func(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' }
	return alnum(first) && alnum(last) && !strings.Contains(name, "..")
}

// CreateBucketLocked creates a bucket. Bucket names are global: another
// account's bucket of the same name is BucketAlreadyExists. Object Lock can
// only be chosen at creation and forces versioning on.
func (w *World) CreateBucketLocked(account, region, name string, objectLock bool) (*Bucket, error) {
	if !ValidBucketName(name) {
		return nil, fmt.Errorf("%w: the specified bucket %q is not valid", ErrInvalidBucketName, name)
	}
	if b, ok := w.Buckets.Get(name); ok {
		if b.Account == account {
			return nil, fmt.Errorf("%w: your previous request to create the named bucket succeeded and you already own it", ErrBucketOwnedByYou)
		}
		return nil, fmt.Errorf("%w: the requested bucket name is not available", ErrBucketExists)
	}
	b := &Bucket{Name: name, Account: account, Region: region, Created: w.clock.Now(),
		ObjectLock: objectLock, Objects: map[string][]*ObjectVersion{}, Tags: Tags{}}
	if objectLock {
		b.Versioning = "Enabled"
	}
	w.Buckets.Put(name, b)
	return b, nil
}

// BucketLocked finds a bucket.
func (w *World) BucketLocked(name string) (*Bucket, error) {
	b, ok := w.Buckets.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w: the specified bucket does not exist", ErrNoSuchBucket)
	}
	return b, nil
}

// DeleteBucketLocked deletes an empty bucket (no versions, no markers).
func (w *World) DeleteBucketLocked(name string) error {
	b, err := w.BucketLocked(name)
	if err != nil {
		return err
	}
	for _, vs := range b.Objects {
		if len(vs) > 0 {
			return fmt.Errorf("%w: the bucket you tried to delete is not empty", ErrBucketNotEmpty)
		}
	}
	w.Buckets.Delete(name)
	return nil
}

// ETagOf is S3's ETag for a single-part upload: the quoted MD5 of the bytes.
func ETagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// PutObjectLocked stores a new version of key. With versioning enabled every
// write gets a fresh version id; otherwise the "null" version is replaced.
func (w *World) PutObjectLocked(bucket, key string, data []byte, contentType string, meta map[string]string) (*ObjectVersion, error) {
	b, err := w.BucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	v := &ObjectVersion{Key: key, ETag: ETagOf(data), ContentType: contentType,
		Data: append([]byte(nil), data...), LastModified: w.clock.Now(), Metadata: meta}
	w.addVersionLocked(b, v)
	return v, nil
}

func (w *World) addVersionLocked(b *Bucket, v *ObjectVersion) {
	if b.Objects == nil {
		b.Objects = map[string][]*ObjectVersion{}
	}
	vs := b.Objects[v.Key]
	if b.Versioning == "Enabled" {
		v.VersionID = w.versionIDLocked()
	} else {
		v.VersionID = NullVersion
		vs = slices.DeleteFunc(vs, func(o *ObjectVersion) bool { return o.VersionID == NullVersion })
	}
	b.Objects[v.Key] = append(vs, v)
}

// versionIDLocked draws an S3-looking 32-character version id.
func (w *World) versionIDLocked() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
	b := make([]byte, 32)
	for i := range b {
		b[i] = alphabet[w.ids.IntN(len(alphabet))]
	}
	return string(b)
}

// GetObjectLocked returns the current version of key, or a named version.
// A current delete marker reads as NoSuchKey; asking for a marker by id is
// MethodNotAllowed. The returned version is nil with the error.
func (w *World) GetObjectLocked(bucket, key, versionID string) (*ObjectVersion, error) {
	b, err := w.BucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	vs := b.Objects[key]
	if versionID == "" {
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: the specified key does not exist", ErrNoSuchKey)
		}
		cur := vs[len(vs)-1]
		if cur.DeleteMarker {
			return cur, fmt.Errorf("%w: the specified key does not exist", ErrNoSuchKey)
		}
		return cur, nil
	}
	for _, v := range vs {
		if v.VersionID == versionID {
			if v.DeleteMarker {
				return v, fmt.Errorf("%w: the specified method is not allowed against this resource", ErrVersionIsMarker)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: the specified version does not exist", ErrNoSuchVersion)
}

// DeleteObjectLocked deletes key as S3 does. Without a version id on a
// versioned bucket it only adds a delete marker (the data survives, which is
// why versioning preserves evidence); with a version id that version is
// removed for good. It returns the marker created or the version removed
// (nil when there was nothing to delete, which S3 still answers with 204).
func (w *World) DeleteObjectLocked(bucket, key, versionID string) (*ObjectVersion, error) {
	b, err := w.BucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	vs := b.Objects[key]
	if versionID != "" {
		for i, v := range vs {
			if v.VersionID == versionID {
				vs = slices.Delete(vs, i, i+1)
				w.setVersionsLocked(b, key, vs)
				return v, nil
			}
		}
		if versionID != NullVersion {
			return nil, fmt.Errorf("%w: the specified version does not exist", ErrNoSuchVersion)
		}
		return nil, nil
	}
	switch b.Versioning {
	case "Enabled", "Suspended":
		m := &ObjectVersion{Key: key, DeleteMarker: true, LastModified: w.clock.Now()}
		w.addVersionLocked(b, m)
		return m, nil
	}
	if len(vs) == 0 {
		return nil, nil
	}
	gone := vs[len(vs)-1]
	w.setVersionsLocked(b, key, nil)
	return gone, nil
}

func (w *World) setVersionsLocked(b *Bucket, key string, vs []*ObjectVersion) {
	if len(vs) == 0 {
		delete(b.Objects, key)
		return
	}
	b.Objects[key] = vs
}

// CurrentObjectsLocked lists the current, non-deleted version of every key
// with prefix, sorted by key.
func (w *World) CurrentObjectsLocked(bucket, prefix string) ([]*ObjectVersion, error) {
	b, err := w.BucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	var out []*ObjectVersion
	for _, k := range SortedKeys(b.Objects) {
		vs := b.Objects[k]
		if !strings.HasPrefix(k, prefix) || len(vs) == 0 || vs[len(vs)-1].DeleteMarker {
			continue
		}
		out = append(out, vs[len(vs)-1])
	}
	return out, nil
}

// AllVersionsLocked lists every version and delete marker with prefix:
// keys ascending, each key's versions newest first (S3's order).
func (w *World) AllVersionsLocked(bucket, prefix string) ([]*ObjectVersion, error) {
	b, err := w.BucketLocked(bucket)
	if err != nil {
		return nil, err
	}
	var out []*ObjectVersion
	for _, k := range SortedKeys(b.Objects) {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		vs := b.Objects[k]
		for i := len(vs) - 1; i >= 0; i-- {
			out = append(out, vs[i])
		}
	}
	return out, nil
}

// IsLatest reports whether v is the newest version of its key.
func (b *Bucket) IsLatest(v *ObjectVersion) bool {
	vs := b.Objects[v.Key]
	return len(vs) > 0 && vs[len(vs)-1] == v
}

// ObjectLockRetention is a bucket's default Object Lock retention.
type ObjectLockRetention struct {
	Mode  string `xml:"DefaultRetention>Mode"`
	Days  int    `xml:"DefaultRetention>Days"`
	Years int    `xml:"DefaultRetention>Years"`
}

// DefaultRetention parses Bucket.ObjectLockConfig (the raw <Rule> XML).
func (b *Bucket) DefaultRetention() (ObjectLockRetention, bool) {
	var r ObjectLockRetention
	if b.ObjectLockConfig == "" || xml.Unmarshal([]byte(b.ObjectLockConfig), &r) != nil || r.Mode == "" {
		return ObjectLockRetention{}, false
	}
	return r, true
}

// RetainedUntil reports whether version v of bucket b is under Object Lock
// retention at now, with the mode and end. Retention is derived from the
// bucket's current default rule and the version's write time (S3 stamps the
// date on the version at write time; rules changed later are approximated).
func (b *Bucket) RetainedUntil(v *ObjectVersion, now time.Time) (mode string, until time.Time, locked bool) {
	r, ok := b.DefaultRetention()
	if !ok || !b.ObjectLock || v.DeleteMarker {
		return "", time.Time{}, false
	}
	until = v.LastModified.AddDate(r.Years, 0, r.Days)
	return r.Mode, until, now.Before(until)
}
