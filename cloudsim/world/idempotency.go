package world

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// ErrIdempotentMismatch: a client token came back with other parameters.
var ErrIdempotentMismatch = errors.New("IdempotentParameterMismatch")

// IdempotentCall is what a create call that carried a client token made,
// kept so that a retry of the same call returns it instead of creating
// again. The SDKs fill the token in (aws-sdk-go-v2 marks RunInstances'
// ClientToken as an idempotency token) and resend it on every retry, so a
// call whose response was lost on a dropped connection arrives twice.
type IdempotentCall struct {
	Fingerprint string   // the call's parameters, the token left out
	IDs         []string // what it created, in order
}

// ClientTokenLocked resolves a create call that carries a client token.
// scope names where tokens are unique (account, region and operation). A
// token seen before with the same fingerprint returns the earlier call; with
// a different one it is ErrIdempotentMismatch, as EC2 answers
// IdempotentParameterMismatch ("Ensuring idempotency in Amazon EC2 API
// requests"). A new token returns nil: the caller creates and then
// remembers the result with RememberClientTokenLocked. Tokens are kept for
// the life of the world; EC2 keeps them for at least a day, far longer than
// a drill's window for a retry.
func (w *World) ClientTokenLocked(scope, token, fingerprint string) (*IdempotentCall, error) {
	prior, ok := w.clientTokens[scope+"\x00"+token]
	if !ok {
		return nil, nil
	}
	if prior.Fingerprint != fingerprint {
		return nil, fmt.Errorf("%w: client token %s was used with other parameters", ErrIdempotentMismatch, token)
	}
	return prior, nil
}

// RememberClientTokenLocked records what a call with a client token made.
func (w *World) RememberClientTokenLocked(scope, token string, call *IdempotentCall) {
	if w.clientTokens == nil {
		w.clientTokens = map[string]*IdempotentCall{}
	}
	w.clientTokens[scope+"\x00"+token] = call
}

// Fingerprint hashes a call's parameters by name, the named ones (its
// client token) left out, so two calls compare without keeping their bodies.
func Fingerprint(params map[string]string, except ...string) string {
	h := sha256.New()
	for _, k := range SortedKeys(params) {
		if !slices.Contains(except, k) {
			fmt.Fprintf(h, "%q=%q\n", k, params[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
