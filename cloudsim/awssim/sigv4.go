package awssim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var sigRe = regexp.MustCompile(`Signature=([0-9a-f]+)`)

// verifySignature re-signs a copy of the request that carries only the
// signed headers, with the principal's secret, and compares signatures. It
// uses the SDK's own signer, so it agrees with every conforming client.
func verifySignature(r *http.Request, body []byte, auth sigv4, secret string) bool {
	if auth.presigned {
		return true // presigned URLs: the credential identifies the caller; expiry is not modelled
	}
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header = http.Header{}
	req.ContentLength = 0
	for _, h := range strings.Split(auth.signedHeaders, ";") {
		switch h {
		case "host":
			req.Host = r.Host
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = auth.service == "s3" })
	creds := aws.Credentials{AccessKeyID: auth.akid, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, auth.service, auth.region, t); err != nil {
		return false
	}
	m := sigRe.FindStringSubmatch(req.Header.Get("Authorization"))
	return m != nil && subtle.ConstantTimeCompare([]byte(m[1]), []byte(auth.signature)) == 1
}
