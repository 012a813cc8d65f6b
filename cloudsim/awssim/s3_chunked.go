package awssim

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
)

// DecodeAWSChunked decodes an aws-chunked request body, the framing the SDK
// uses for streaming uploads (STREAMING-UNSIGNED-PAYLOAD-TRAILER over TLS,
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] when signing chunks):
//
//	hex-size[;chunk-signature=…]\r\n data \r\n … 0[;…]\r\n trailer:value\r\n … \r\n
//
// It returns the payload and the trailers (lower-cased names). Chunk
// signatures are not verified; the seed signature already was.
func DecodeAWSChunked(body []byte) ([]byte, map[string]string, error) {
	var out bytes.Buffer
	pos := 0
	for {
		line, next, ok := crlfLine(body, pos)
		if !ok {
			return nil, nil, errors.New("aws-chunked: chunk header is not terminated by CRLF")
		}
		sizeHex := line
		if i := strings.IndexByte(line, ';'); i >= 0 {
			sizeHex = line[:i]
		}
		size, err := strconv.ParseUint(strings.TrimSpace(sizeHex), 16, 63)
		if err != nil {
			return nil, nil, fmt.Errorf("aws-chunked: bad chunk size %q", sizeHex)
		}
		pos = next
		if size == 0 {
			trailers, err := parseTrailers(body, pos)
			return out.Bytes(), trailers, err
		}
		if size > uint64(len(body)-pos) {
			return nil, nil, fmt.Errorf("aws-chunked: chunk of %d bytes overruns the body", size)
		}
		out.Write(body[pos : pos+int(size)])
		pos += int(size)
		if !bytes.HasPrefix(body[pos:], []byte("\r\n")) {
			return nil, nil, errors.New("aws-chunked: chunk data is not followed by CRLF")
		}
		pos += 2
	}
}

// crlfLine returns the text from pos to the next CRLF and the offset after it.
func crlfLine(body []byte, pos int) (string, int, bool) {
	i := bytes.Index(body[pos:], []byte("\r\n"))
	if i < 0 {
		return "", 0, false
	}
	return string(body[pos : pos+i]), pos + i + 2, true
}

// parseTrailers reads "name:value" lines up to an empty line or the end.
func parseTrailers(body []byte, pos int) (map[string]string, error) {
	trailers := map[string]string{}
	for pos < len(body) {
		line, next, ok := crlfLine(body, pos)
		if !ok {
			line, next = string(body[pos:]), len(body) // lenient: last trailer without CRLF
		}
		pos = next
		if line == "" {
			break
		}
		name, value, found := strings.Cut(line, ":")
		if !found {
			return nil, fmt.Errorf("aws-chunked: malformed trailer %q", line)
		}
		trailers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	return trailers, nil
}

// isAWSChunked reports whether a request body uses aws-chunked framing.
func isAWSChunked(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") ||
		strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
}

// s3Payload returns the decoded request body and the checksums the client
// sent (from headers or trailers), verifying both as S3 does: a mismatch is
// BadDigest and a wrong decoded length IncompleteBody.
func s3Payload(c *Call) ([]byte, map[string]string, error) {
	data := c.Body
	sums := map[string]string{}
	for _, alg := range checksumAlgorithms {
		if v := c.Req.Header.Get("X-Amz-Checksum-" + alg); v != "" {
			sums[alg] = v
		}
	}
	if isAWSChunked(c.Req) {
		decoded, trailers, err := DecodeAWSChunked(c.Body)
		if err != nil {
			return nil, nil, Errf(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header: %v", err)
		}
		data = decoded
		for _, alg := range checksumAlgorithms {
			if v, ok := trailers["x-amz-checksum-"+strings.ToLower(alg)]; ok {
				sums[alg] = v
			}
		}
		if want := c.Req.Header.Get("X-Amz-Decoded-Content-Length"); want != "" {
			n, err := strconv.Atoi(want)
			if err != nil || n != len(data) {
				return nil, nil, Errf(400, "IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header (%s, got %d).", want, len(data))
			}
		}
	}
	if m := c.Req.Header.Get("Content-Md5"); m != "" {
		sum := md5.Sum(data)
		if m != base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, nil, Errf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	for _, alg := range checksumAlgorithms { // fixed order: the reported mismatch is deterministic
		want, sent := sums[alg]
		got, ok := checksumOf(alg, data)
		if sent && ok && got != want {
			return nil, nil, Errf(400, "BadDigest", "The %s you specified did not match the calculated checksum.", alg)
		}
	}
	return data, sums, nil
}

// checksumAlgorithms are the x-amz-checksum-* header suffixes S3 accepts.
var checksumAlgorithms = []string{"CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"}

// checksumOf computes an S3 checksum (base64 of the big-endian digest);
// false for algorithms the simulator does not verify (CRC64NVME).
func checksumOf(alg string, data []byte) (string, bool) {
	var sum []byte
	switch alg {
	case "CRC32":
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	case "CRC32C":
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	case "SHA1":
		s := sha1.Sum(data)
		sum = s[:]
	case "SHA256":
		s := sha256.Sum256(data)
		sum = s[:]
	default:
		return "", false
	}
	return base64.StdEncoding.EncodeToString(sum), true
}
