package awssim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// protocol is one of AWS's wire protocols: how the operation is named in a
// request and how results and errors are enveloped.
type protocol interface {
	// operation names the RPC operation of a request ("" for REST protocols,
	// which route on method and path instead).
	operation(r *http.Request, form Form) string
	writeResult(w http.ResponseWriter, c *Call, result any)
	writeError(w http.ResponseWriter, c *Call, e *APIError)
	// codes are the protocol's spellings of the framework's own errors.
	codes() errorCodes
}

// errorCodes spell the errors the framework raises for every service.
// badToken, a session token that does not go with its key, is unknownKey
// where a protocol leaves it empty.
type errorCodes struct {
	unknownKey, badToken, badSignature, expired, denied, throttle, internal, unknownOp, badRequest APIError
}

// RawResponse lets a handler answer with exact status, headers and body
// (S3 object reads, raw policy documents, HEAD answers).
type RawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func writeRaw(w http.ResponseWriter, r *RawResponse) bool {
	for k, vs := range r.Header {
		// Keys go out as the handler wrote them: S3's x-amz-meta-*
		// headers keep their case.
		w.Header()[k] = append(w.Header()[k], vs...)
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(r.Body)
	return true
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ---- ec2Query -----------------------------------------------------------

type ec2Query struct{}

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

func (ec2Query) operation(_ *http.Request, f Form) string { return f.Get("Action") }

func (ec2Query) writeResult(w http.ResponseWriter, c *Call, result any) {
	if raw, ok := result.(*RawResponse); ok {
		writeRaw(w, raw)
		return
	}
	kids, _ := result.([]*X)
	kids = append([]*X{T("requestId", c.RequestID)}, kids...)
	writeBody(w, 200, "text/xml;charset=UTF-8", document(c.Op+"Response", ec2NS, kids...))
}

func (ec2Query) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	body := document("Response", "",
		E("Errors", E("Error", T("Code", e.Code), T("Message", e.Message))),
		T("RequestID", c.RequestID))
	writeBody(w, e.Status, "text/xml;charset=UTF-8", body)
}

func (ec2Query) codes() errorCodes {
	return errorCodes{
		unknownKey:   APIError{Status: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"},
		badSignature: APIError{Status: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"},
		expired:      APIError{Status: 400, Code: "RequestExpired", Message: "Request has expired."},
		denied:       APIError{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."},
		throttle:     APIError{Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."},
		internal:     APIError{Status: 500, Code: "InternalError", Message: "An internal error has occurred"},
		unknownOp:    APIError{Status: 400, Code: "InvalidAction", Message: "The action is not valid for this web service."},
		badRequest:   APIError{Status: 400, Code: "InvalidParameterValue", Message: "Invalid request."},
	}
}

// ---- awsQuery (IAM, STS, Auto Scaling) ------------------------------------

type awsQuery struct{ xmlns string }

func (awsQuery) operation(_ *http.Request, f Form) string { return f.Get("Action") }

func (p awsQuery) writeResult(w http.ResponseWriter, c *Call, result any) {
	if raw, ok := result.(*RawResponse); ok {
		writeRaw(w, raw)
		return
	}
	kids, _ := result.([]*X)
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	body := document(c.Op+"Response", p.xmlns,
		E(c.Op+"Result", kids...),
		E("ResponseMetadata", T("RequestId", c.RequestID)))
	writeBody(w, 200, "text/xml", body)
}

func (awsQuery) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	typ := "Sender"
	if !e.Sender {
		typ = "Receiver"
	}
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	body := document("ErrorResponse", "",
		E("Error", T("Type", typ), T("Code", e.Code), T("Message", e.Message)),
		T("RequestId", c.RequestID))
	writeBody(w, e.Status, "text/xml", body)
}

func (awsQuery) codes() errorCodes {
	return errorCodes{
		unknownKey:   APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Sender: true},
		badSignature: APIError{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided.", Sender: true},
		expired:      APIError{Status: 403, Code: "ExpiredToken", Message: "The security token included in the request is expired", Sender: true},
		denied:       APIError{Status: 403, Code: "AccessDenied", Message: "not authorized", Sender: true},
		throttle:     APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded", Sender: true},
		internal:     APIError{Status: 500, Code: "InternalFailure", Message: "An internal error occurred."},
		unknownOp:    APIError{Status: 400, Code: "InvalidAction", Message: "Could not find operation", Sender: true},
		badRequest:   APIError{Status: 400, Code: "ValidationError", Message: "Invalid request.", Sender: true},
	}
}

// ---- awsJson1.1 (CloudTrail, SSM) -----------------------------------------

type awsJSON struct{}

func (awsJSON) operation(r *http.Request, _ Form) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return ""
}

func (awsJSON) writeResult(w http.ResponseWriter, c *Call, result any) {
	if raw, ok := result.(*RawResponse); ok {
		writeRaw(w, raw)
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	body, err := json.Marshal(result)
	if err != nil {
		awsJSON{}.writeError(w, c, Errf(500, "InternalServerError", "encoding response: %v", err))
		return
	}
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	writeBody(w, 200, "application/x-amz-json-1.1", body)
}

func (awsJSON) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	writeBody(w, e.Status, "application/x-amz-json-1.1", body)
}

func (awsJSON) codes() errorCodes {
	return errorCodes{
		unknownKey:   APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		badSignature: APIError{Status: 400, Code: "InvalidSignatureException", Message: "The request signature we calculated does not match the signature you provided."},
		expired:      APIError{Status: 400, Code: "ExpiredTokenException", Message: "The security token included in the request is expired"},
		denied:       APIError{Status: 400, Code: "AccessDeniedException", Message: "not authorized"},
		throttle:     APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		internal:     APIError{Status: 500, Code: "InternalServerError", Message: "An internal error occurred."},
		unknownOp:    APIError{Status: 400, Code: "UnknownOperationException", Message: "Unknown operation"},
		badRequest:   APIError{Status: 400, Code: "ValidationException", Message: "Invalid request."},
	}
}

// ---- restJson1 (GuardDuty) ------------------------------------------------

type restJSON struct{}

func (restJSON) operation(*http.Request, Form) string { return "" }

func (restJSON) writeResult(w http.ResponseWriter, c *Call, result any) {
	if raw, ok := result.(*RawResponse); ok {
		writeRaw(w, raw)
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	body, err := json.Marshal(result)
	if err != nil {
		restJSON{}.writeError(w, c, Errf(500, "InternalServerErrorException", "encoding response: %v", err))
		return
	}
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	writeBody(w, 200, "application/json", body)
}

func (restJSON) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	body, _ := json.Marshal(map[string]string{"message": e.Message, "__type": e.Code})
	w.Header().Set("x-amzn-RequestId", c.RequestID)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeBody(w, e.Status, "application/json", body)
}

func (restJSON) codes() errorCodes {
	return errorCodes{
		unknownKey:   APIError{Status: 403, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		badSignature: APIError{Status: 403, Code: "InvalidSignatureException", Message: "The request signature we calculated does not match the signature you provided."},
		expired:      APIError{Status: 403, Code: "ExpiredTokenException", Message: "The security token included in the request is expired"},
		denied:       APIError{Status: 403, Code: "AccessDeniedException", Message: "not authorized"},
		throttle:     APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		internal:     APIError{Status: 500, Code: "InternalServerErrorException", Message: "An internal error occurred."},
		unknownOp:    APIError{Status: 404, Code: "UnknownOperationException", Message: "Unknown operation"},
		badRequest:   APIError{Status: 400, Code: "BadRequestException", Message: "Invalid request."},
	}
}

// ---- restXml (S3) ---------------------------------------------------------

type restXML struct{}

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

func (restXML) operation(*http.Request, Form) string { return "" }

// writeResult renders a *X as the document root, a *RawResponse as is, and
// nil as an empty 200.
func (restXML) writeResult(w http.ResponseWriter, c *Call, result any) {
	w.Header().Set("x-amz-request-id", c.RequestID)
	w.Header().Set("x-amz-id-2", c.RequestID)
	switch r := result.(type) {
	case *RawResponse:
		writeRaw(w, r)
	case *X:
		writeBody(w, 200, "application/xml", document(r.Name, s3NS, r.Kids...))
	default:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(200)
	}
}

func (restXML) writeError(w http.ResponseWriter, c *Call, e *APIError) {
	w.Header().Set("x-amz-request-id", c.RequestID)
	w.Header().Set("x-amz-id-2", c.RequestID)
	if c.Req != nil && c.Req.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := document("Error", "", T("Code", e.Code), T("Message", e.Message),
		T("RequestId", c.RequestID), T("HostId", c.RequestID))
	writeBody(w, e.Status, "application/xml", body)
}

func (restXML) codes() errorCodes {
	return errorCodes{
		unknownKey: APIError{Status: 403, Code: "InvalidAccessKeyId", Message: "The AWS Access Key Id you provided does not exist in our records."},
		// S3's error for a session token that is not the key's (S3 API
		// reference, "Error responses").
		badToken:     APIError{Status: 400, Code: "InvalidToken", Message: "The provided token is malformed or otherwise invalid."},
		badSignature: APIError{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
		expired:      APIError{Status: 400, Code: "ExpiredToken", Message: "The provided token has expired."},
		denied:       APIError{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
		throttle:     APIError{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."},
		internal:     APIError{Status: 500, Code: "InternalError", Message: "We encountered an internal error. Please try again."},
		unknownOp:    APIError{Status: 501, Code: "NotImplemented", Message: "A header you provided implies functionality that is not implemented"},
		badRequest:   APIError{Status: 400, Code: "InvalidRequest", Message: "Invalid request."},
	}
}
