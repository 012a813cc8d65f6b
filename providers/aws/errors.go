package aws

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/firedrill-ir/firedrill/providers"
)

// Error codes by kind. EC2 has no typed errors at all and the query services
// share codes across typed errors, so classification is by code string
// (shared/notes/wire-protocols.md §1.5–1.6).
var (
	notFoundCodes = set("NoSuchEntity", "NoSuchBucket", "NoSuchKey", "NotFound", "InvocationDoesNotExist",
		"InvalidInstanceId", "ResourceNotFoundException", "TrailNotFoundException", "NoSuchBucketPolicy",
		"InvalidDocument")
	deniedCodes = set("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess",
		"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
		"InvalidAccessKeyId", "OptInRequired", "UnrecognizedClientException", "InvalidToken")
	throttleCodes = set("Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
		"BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
		"PriorRequestNotComplete", "EC2ThrottledException")
	conflictCodes = set("IncorrectInstanceState", "IncorrectState", "OperationNotPermitted", "EntityAlreadyExists",
		"DeleteConflict", "ConcurrentModification", "ConcurrentModificationException", "ResourceInUse",
		"ResourceInUseFault", "ScalingActivityInProgress", "ResourceContention", "BucketAlreadyOwnedByYou",
		"BucketAlreadyExists", "BucketNotEmpty", "ConflictException", "InvalidBucketState",
		"ConcurrentSnapshotLimitExceeded", "IncorrectInstanceState.Stopped")
	invalidCodes = set("InvalidParameterValue", "InvalidParameterCombination", "InvalidParameter", "MissingParameter",
		"ValidationError", "ValidationException", "MalformedPolicyDocument", "InvalidInput", "BadRequestException",
		"InvalidLookupAttributesException", "InvalidTimeRangeException", "InvalidNextTokenException",
		"InvalidNextToken", "InvalidRequest", "InvalidArgument", "InvalidInstanceInformationFilterValue",
		"InvalidFilterKey", "InvalidParameters")
	unsupportedCodes = set("InvalidAction", "UnknownOperationException", "NotImplemented", "UnsupportedOperation",
		"UnsupportedOperationException", "InvalidInstanceID.Unsupported")
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// classify maps an AWS error code to a neutral error kind.
func classify(code string) error {
	switch {
	case code == "":
		return nil
	case strings.HasSuffix(code, ".NotFound") || notFoundCodes[code]:
		return providers.ErrNotFound
	case strings.HasSuffix(code, ".Malformed"):
		return providers.ErrInvalid
	case deniedCodes[code]:
		return providers.ErrAccessDenied
	case throttleCodes[code]:
		return providers.ErrThrottled
	case strings.HasSuffix(code, ".Duplicate") || strings.HasSuffix(code, ".InUse") || conflictCodes[code]:
		return providers.ErrConflict
	case invalidCodes[code]:
		return providers.ErrInvalid
	case unsupportedCodes[code]:
		return providers.ErrUnsupported
	}
	return nil
}

// wrapErr turns an SDK error into a *providers.OpError naming the operation
// and resource, with the neutral kind derived from the API error code. The
// SDK error stays reachable with errors.As (smithy.APIError, typed errors).
func wrapErr(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	kind := classify(code)
	if kind == nil && errors.Is(err, context.DeadlineExceeded) {
		kind = providers.ErrTimeout
	}
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: code, Err: err}
}

// opErr builds an error for a condition detected by the provider itself
// (not an SDK error), e.g. an instance missing from a successful answer.
func opErr(op, resource string, kind error, code, msg string) error {
	return &providers.OpError{Op: op, Resource: resource, Kind: kind, Code: code, Err: errors.New(msg)}
}

// isKind reports whether a raw SDK error classifies as kind.
func isKind(err error, kind error) bool {
	return err != nil && errors.Is(wrapErr("", "", err), kind)
}
