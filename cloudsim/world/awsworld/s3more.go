package awsworld

import (
	"slices"
	"time"
)

// MultipartUpload is an S3 multipart upload in progress.
type MultipartUpload struct {
	ID, Bucket, Key string
	ContentType     string
	Metadata        map[string]string
	Initiated       time.Time
	Initiator       string // principal ARN
	Parts           map[int]*UploadedPart
}

// UploadedPart is one part of a multipart upload.
type UploadedPart struct {
	Number       int
	ETag         string
	Data         []byte
	LastModified time.Time
}

// PartNumbers lists the upload's part numbers in order.
func (u *MultipartUpload) PartNumbers() []int {
	out := make([]int, 0, len(u.Parts))
	for n := range u.Parts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// CreateUpload starts a multipart upload; its id is drawn from the
// caller's "ids" stream.
func (s *State) CreateUpload(bucket, key, contentType string, meta map[string]string, initiator string) *MultipartUpload {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
	ids := s.w.IDRandLocked()
	b := make([]byte, 64)
	for i := range b {
		b[i] = alphabet[ids.IntN(len(alphabet))]
	}
	u := &MultipartUpload{ID: string(b), Bucket: bucket, Key: key, ContentType: contentType, Metadata: meta,
		Initiated: s.w.Now(), Initiator: initiator, Parts: map[int]*UploadedPart{}}
	s.Uploads.Put(u.ID, u)
	return u
}

// BucketLogging is a bucket's server access logging configuration.
type BucketLogging struct{ TargetBucket, TargetPrefix string }

// SetBucketLogging sets (or, with nil, turns off) a bucket's access logging.
func (s *State) SetBucketLogging(bucket string, l *BucketLogging) {
	if s.bucketLogging == nil {
		s.bucketLogging = map[string]*BucketLogging{}
	}
	if l == nil {
		delete(s.bucketLogging, bucket)
		return
	}
	s.bucketLogging[bucket] = l
}

// BucketLoggingOf returns a bucket's access logging, nil when off.
func (s *State) BucketLoggingOf(bucket string) *BucketLogging { return s.bucketLogging[bucket] }
